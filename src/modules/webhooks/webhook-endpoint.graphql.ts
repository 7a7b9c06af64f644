import { Field, ID, ObjectType } from "type-graphql";
import { AssignmentEventType } from "../assignments/assignment-event.entity";

// The GraphQL shape of webhook-endpoint.entity.ts's rows (the transport's; the entity knows no GraphQL).

@ObjectType("WebhookEndpoint", { description: "Where the organization's handover events are pushed (Standard Webhooks). Admins only." })
export class WebhookEndpointObject {
  @Field(() => ID)
  id: string;

  @Field({ description: "https:// (http:// and private addresses only with WEBHOOK_ALLOW_PRIVATE_NETWORKS)." })
  url: string;

  @Field(() => [AssignmentEventType], { description: "The event types sent; empty: every type." })
  eventTypes: AssignmentEventType[];

  @Field()
  enabled: boolean;

  @Field(() => String, { nullable: true, description: "Why Baton disabled it (an admin enabling it again clears it)." })
  disabledReason: string | null;

  @Field()
  createdAt: Date;
}

@ObjectType("WebhookEndpointWithSecret", { description: "An endpoint with its signing secret: shown only when created or rotated." })
export class WebhookEndpointWithSecretObject {
  @Field(() => WebhookEndpointObject)
  endpoint: WebhookEndpointObject;

  @Field({ description: 'The Standard Webhooks secret, "whsec_...": store it now, it is not shown again.' })
  secret: string;
}
