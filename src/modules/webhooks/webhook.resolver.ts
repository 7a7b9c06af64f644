import { Arg, Ctx, Field, ID, InputType, Int, Mutation, Query, Resolver } from "type-graphql";
import { ConnectionType, pageArgs, toConnection } from "../../graphql/pagination";
import { type Context, viewerOf } from "../../graphql/context";
import { AssignmentEventType } from "../assignments/assignment-event.entity";
import type { WebhookEndpoint } from "./webhook-endpoint.entity";
import { WebhookDeliveryObject, WebhookEndpointObject, WebhookEndpointWithSecretObject } from "./webhook-endpoint.graphql";
import { WebhookDeliveryStatus } from "./webhook-delivery.entity";

const WebhookDeliveryConnection = ConnectionType(WebhookDeliveryObject, "WebhookDelivery");
import type { EndpointWithSecret } from "./webhook.service";

@InputType()
export class CreateWebhookEndpointInput {
  @Field({ description: "Where to post: https:// and a public address." })
  url: string;

  @Field(() => [AssignmentEventType], { nullable: true, description: "Omitted or empty: every type." })
  eventTypes?: AssignmentEventType[] | null;
}

@InputType()
export class UpdateWebhookEndpointInput {
  @Field(() => String, { nullable: true })
  url?: string | null;

  @Field(() => [AssignmentEventType], { nullable: true, description: "Empty: every type." })
  eventTypes?: AssignmentEventType[] | null;

  @Field(() => Boolean, { nullable: true, description: "true enables it again (and clears disabledReason)." })
  enabled?: boolean | null;
}

@Resolver(() => WebhookEndpointObject)
export class WebhookResolver {
  @Query(() => [WebhookEndpointObject], { description: "Admins: the organization's webhook endpoints, oldest first." })
  webhookEndpoints(@Ctx() ctx: Context): Promise<WebhookEndpoint[]> {
    return ctx.services.webhooks.list(viewerOf(ctx));
  }

  @Mutation(() => WebhookEndpointWithSecretObject, { description: "Admins: a new endpoint and its secret (shown this once)." })
  createWebhookEndpoint(@Arg("input", () => CreateWebhookEndpointInput) input: CreateWebhookEndpointInput, @Ctx() ctx: Context): Promise<EndpointWithSecret> {
    return ctx.services.webhooks.create(viewerOf(ctx), input);
  }

  @Mutation(() => WebhookEndpointObject, { description: "Admins: omitted fields keep their value." })
  updateWebhookEndpoint(
    @Arg("id", () => ID) id: string,
    @Arg("input", () => UpdateWebhookEndpointInput) input: UpdateWebhookEndpointInput,
    @Ctx() ctx: Context,
  ): Promise<WebhookEndpoint> {
    return ctx.services.webhooks.update(viewerOf(ctx), id, input);
  }

  @Mutation(() => WebhookEndpointWithSecretObject, { description: "Admins: a new secret (shown this once); the previous one keeps signing for 24 h." })
  rotateWebhookSecret(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<EndpointWithSecret> {
    return ctx.services.webhooks.rotateSecret(viewerOf(ctx), id);
  }

  @Mutation(() => Boolean, { description: "Admins: removes the endpoint." })
  deleteWebhookEndpoint(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<boolean> {
    return ctx.services.webhooks.delete(viewerOf(ctx), id);
  }

  @Query(() => WebhookDeliveryConnection, { description: "Admins: an endpoint's deliveries, newest first; of one status when given." })
  webhookDeliveries(
    @Arg("endpointId", () => ID) endpointId: string,
    @Ctx() ctx: Context,
    @Arg("status", () => WebhookDeliveryStatus, { nullable: true }) status?: WebhookDeliveryStatus | null,
    @Arg("first", () => Int, { nullable: true }) first?: number,
    @Arg("after", () => String, { nullable: true }) after?: string,
  ) {
    return ctx.services.webhooks.deliveriesOf(viewerOf(ctx), endpointId, status, pageArgs(first, after)).then(toConnection);
  }

  @Mutation(() => Int, {
    description: "Admins: queues every event after afterSequence to the endpoint again (its deliveries, and events it missed while disabled); returns how many.",
  })
  redeliverWebhooks(@Arg("endpointId", () => ID) endpointId: string, @Arg("afterSequence", () => String) afterSequence: string, @Ctx() ctx: Context): Promise<number> {
    return ctx.services.webhooks.redeliver(viewerOf(ctx), endpointId, afterSequence);
  }
}
