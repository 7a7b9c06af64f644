import { type GraphQLSchema, lexicographicSortSchema, printSchema } from "graphql";
import { GraphQLDateTime } from "graphql-scalars";
import { buildSchema } from "type-graphql";
import { AssignmentEventResolver } from "../modules/assignments/assignment-event.resolver";
import { BulkAssignResolver } from "../modules/assignments/bulk-assign.resolver";
import { AssignmentResolver } from "../modules/assignments/assignment.resolver";
import { ChatSessionResolver } from "../modules/chat-sessions/chat-session.resolver";
import { DiscussionMessageResolver, DiscussionResolver } from "../modules/discussions/discussion.resolver";
import { NotificationResolver } from "../modules/notifications/notification.resolver";
import { SettingsResolver } from "../modules/settings/settings.resolver";
import { TrackingResolver } from "../modules/tracking/tracking.resolver";
import { HandoverStatsResolver } from "../modules/tracking/handover-stats.resolver";
import { SuggestionResolver } from "../modules/assignments/suggestion.resolver";
import { UserResolver } from "../modules/users/user.resolver";
import { WebhookResolver } from "../modules/webhooks/webhook.resolver";
import { IdentityResolver } from "../modules/identity/identity.resolver";
import { AuditResolver } from "../modules/audit/audit.resolver";
import { makeMutationsIdempotent } from "./idempotency";

export const resolvers = [
  UserResolver,
  ChatSessionResolver,
  AssignmentResolver,
  AssignmentEventResolver,
  BulkAssignResolver,
  TrackingResolver,
  HandoverStatsResolver,
  SuggestionResolver,
  NotificationResolver,
  SettingsResolver,
  DiscussionResolver,
  DiscussionMessageResolver,
  WebhookResolver,
  IdentityResolver,
  AuditResolver,
] as const;

/** Subscriptions take their feeds from `context.services.pubsub` (bounded, typed), not from type-graphql's topics. */
export async function buildBatonSchema(): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers,
    // Required by type-graphql for any @Subscription; ours all bring their own `subscribe`.
    pubSub: {
      publish: () => {
        throw new Error("publish through services.pubsub");
      },
      subscribe: () => {
        throw new Error("subscribe through services.pubsub");
      },
    },
    scalarsMap: [{ type: Date, scalar: GraphQLDateTime }],
    validate: false,
  });
  // Mutations sent with an idempotency key happen at most once (graphql/idempotency.ts).
  makeMutationsIdempotent(schema);
  return schema;
}

/** The SDL committed as schema/schema.graphql, sorted so diffs show only real changes. */
export const printBatonSchema = (schema: GraphQLSchema): string => `${printSchema(lexicographicSortSchema(schema))}\n`;
