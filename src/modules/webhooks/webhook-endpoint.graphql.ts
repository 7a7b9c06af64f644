import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { AssignmentEventType } from "../assignments/assignment-event.entity";
import { WebhookDeliveryStatus } from "./webhook-delivery.entity";

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

registerEnumType(WebhookDeliveryStatus, {
  name: "WebhookDeliveryStatus",
  description: "PENDING: not yet delivered (waiting for its turn or a retry); DELIVERED: a 2xx; FAILED: every retry failed.",
});

@ObjectType("WebhookDelivery", { description: "One event to one endpoint. Its id is the message's webhook-id, the same for every attempt." })
export class WebhookDeliveryObject {
  @Field(() => ID)
  id: string;

  @Field({ description: "The event's sequence (as assignmentEventsSince counts)." })
  eventSequence: string;

  @Field(() => AssignmentEventType)
  eventType: AssignmentEventType;

  @Field(() => WebhookDeliveryStatus)
  status: WebhookDeliveryStatus;

  @Field(() => Int, { description: "Attempts begun." })
  attempts: number;

  @Field(() => Int, { nullable: true, description: "The HTTP status of the last attempt (null: no answer)." })
  lastResponseStatus: number | null;

  @Field(() => String, { nullable: true, description: "Why the last attempt failed (at most 1 kB, a response body cut there)." })
  lastError: string | null;

  @Field(() => Date, { nullable: true, description: "When it is tried next (PENDING)." })
  nextAttemptAt: Date | null;

  @Field(() => Date, { nullable: true })
  deliveredAt: Date | null;
}
