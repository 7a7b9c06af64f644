import { Arg, Ctx, FieldResolver, ID, Int, Query, registerEnumType, Resolver, Root, Subscription } from "type-graphql";
import { type Context, viewerOf } from "../../graphql/context";
import { type AssignmentEventMessage, audience } from "../../events/pubsub";
import type { Stored } from "../../events/catch-up-feed";
import { Filtered } from "../../events/feed";
import { BatonError } from "../../errors";
import { personalFeed } from "../../graphql/personal-feeds";
import { receiveAssignmentEvent, revocable } from "../../graphql/subscriptions";
import { assertScope, EventScope, mayFollow, maySee } from "./event-visibility";
import { ChatSession } from "../chat-sessions/chat-session.entity";
import { EngagementTrackingRecord } from "../tracking/engagement-tracking-record.entity";
import { User } from "../users/user.entity";
import { AssignmentEvent } from "./assignment-event.entity";
import { AssignmentRequest } from "./assignment-request.entity";
import { ChatSessionObject } from "../chat-sessions/chat-session.graphql";
import { EngagementTrackingRecordObject } from "../tracking/engagement-tracking-record.graphql";
import { UserObject } from "../users/user.graphql";
import { AssignmentEventObject } from "./assignment-event.graphql";
import { AssignmentRequestObject } from "./assignment-request.graphql";

registerEnumType(EventScope, {
  name: "EventScope",
  description: "MINE: requests I sent or received, chats handed to or from me. ORGANIZATION: everything (managers and admins).",
});

interface ScopeArgs {
  scope: EventScope;
}

/** MINE (the default): the viewer's own channel, and of it what they may see. */
const mine = personalFeed("assignmentEvents", {
  applies: (args) => (args.scope ?? EventScope.MINE) === EventScope.MINE,
  topic: "ASSIGNMENT_EVENT",
  audience: (viewer) => audience.user(viewer.id),
  keep: (viewer, message) => maySee(viewer, EventScope.MINE, message.event),
});

@Resolver(() => AssignmentEventObject)
export class AssignmentEventResolver {
  @Subscription(() => AssignmentEventObject, {
    description: "Every change in the life of the handovers in scope, after it commits, in sequence order.",
    subscribe: ({ args, context }: { args: ScopeArgs; context: Context }) => {
      const viewer = viewerOf(context);
      assertScope(viewer, args.scope);
      // Falls back to the event table when the reader falls behind (a bulk move): never cut, never unbounded.
      const sequenced = context.services.pubsub.subscribeSequenced(
        args.scope === EventScope.ORGANIZATION ? audience.organization(viewer.organizationId) : mine.audience(viewer),
        (after, first) => context.services.events.since(viewer, args.scope, after, first),
        { onReadFailed: (err) => err instanceof BatonError || context.onFeedInterrupted?.(), startAfter: context.resumeAfter, onInterrupted: context.onFeedInterrupted },
      );
      const feed = new Filtered(sequenced, (m: AssignmentEventMessage | Stored<AssignmentEvent>) => maySee(viewer, args.scope, m.event));
      // Decided on the role: a change of role that takes the scope away ends it (FORBIDDEN). Every
      // role may follow its own events (mayFollow), so MINE needs no watch.
      return args.scope === EventScope.ORGANIZATION ? revocable(context, feed, (now) => mayFollow(now, args.scope)) : feed;
    },
  })
  assignmentEvents(
    @Root() message: AssignmentEventMessage | Stored<AssignmentEvent>,
    @Ctx() ctx: Context,
    @Arg("scope", () => EventScope, { defaultValue: EventScope.MINE }) _scope: EventScope,
  ): AssignmentEvent {
    return receiveAssignmentEvent(ctx, message);
  }

  @Query(() => String, {
    nullable: true,
    description:
      "The latest event sequence of my organization (null before the first): a client that loads its views now and subscribes resumes from it with assignmentEventsSince after a drop.",
  })
  latestEventSequence(@Ctx() ctx: Context): Promise<string | null> {
    return ctx.services.events.head(viewerOf(ctx));
  }

  @Query(() => Date, { description: "The server's clock now: draw countdowns to expiresAt on it, not on the browser's." })
  serverTime(): Date {
    return new Date();
  }

  @Query(() => [AssignmentEventObject], {
    description:
      "Gap-free catch-up after a dropped connection: the events after `after` (a sequence) that the subscription with the same scope would have delivered, in order. At most `first` (1..500, default 100); call again from the last one while a full page comes back.",
  })
  assignmentEventsSince(
    @Ctx() ctx: Context,
    @Arg("after", () => String, { nullable: true }) after?: string,
    @Arg("first", () => Int, { nullable: true }) first?: number,
    @Arg("scope", () => EventScope, { defaultValue: EventScope.MINE }) scope: EventScope = EventScope.MINE,
  ): Promise<AssignmentEvent[]> {
    return ctx.services.events.since(viewerOf(ctx), scope, after ?? null, first ?? 100);
  }

  @FieldResolver(() => ID, { description: "The event's identity for client caches (its sequence, unique across organizations)." })
  id(@Root() e: AssignmentEvent): string {
    return e.sequence;
  }

  @FieldResolver(() => AssignmentRequestObject, { nullable: true, description: "Null for a direct (bulk) assignment." })
  async request(@Root() e: AssignmentEvent, @Ctx() ctx: Context): Promise<AssignmentRequest | null> {
    return e.requestId ? ctx.loaders.request.load(e.requestId) : null;
  }

  @FieldResolver(() => EngagementTrackingRecordObject)
  async trackingRecord(@Root() e: AssignmentEvent, @Ctx() ctx: Context): Promise<EngagementTrackingRecord | null> {
    return ctx.loaders.trackingRecord.load(e.trackingRecordId);
  }

  @FieldResolver(() => ChatSessionObject)
  async chatSession(@Root() e: AssignmentEvent, @Ctx() ctx: Context): Promise<ChatSession | null> {
    return ctx.loaders.chatSession.load(e.chatSessionId);
  }

  @FieldResolver(() => UserObject, { nullable: true, description: "Who acted; null when the deadline did." })
  async actor(@Root() e: AssignmentEvent, @Ctx() ctx: Context): Promise<User | null> {
    return e.actorId ? ctx.loaders.user.load(e.actorId) : null;
  }
}
