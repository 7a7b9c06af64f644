import { Arg, Ctx, Field, FieldResolver, ID, InputType, Int, Query, Resolver, Root } from "type-graphql";
import { type Context, viewerOf } from "../../graphql/context";
import { ConnectionType, pageArgs, toConnection } from "../../graphql/pagination";
import { AssignmentRequest } from "../assignments/assignment-request.entity";
import { ChatSession } from "../chat-sessions/chat-session.entity";
import { User } from "../users/user.entity";
import { EngagementTrackingRecord, TrackingKind, TrackingStatus } from "./engagement-tracking-record.entity";
import { AssignmentRequestObject } from "../assignments/assignment-request.graphql";
import { ChatSessionObject } from "../chat-sessions/chat-session.graphql";
import { UserObject } from "../users/user.graphql";
import { EngagementTrackingRecordObject } from "./engagement-tracking-record.graphql";

const EngagementTrackingRecordConnection = ConnectionType(EngagementTrackingRecordObject, "EngagementTrackingRecord");

@InputType()
export class EngagementTrackingRecordFilter {
  @Field(() => ID, { nullable: true })
  chatSessionId?: string | null;

  @Field(() => ID, { nullable: true, description: "Records this user initiated, handed over, or received." })
  userId?: string | null;

  @Field(() => TrackingStatus, { nullable: true })
  status?: TrackingStatus | null;

  @Field(() => TrackingKind, { nullable: true })
  kind?: TrackingKind | null;

  @Field(() => Date, { nullable: true, description: "Created at or after." })
  from?: Date | null;

  @Field(() => Date, { nullable: true, description: "Created before." })
  to?: Date | null;

  @Field(() => ID, { nullable: true })
  bulkOperationId?: string | null;
}

@Resolver(() => EngagementTrackingRecordObject)
export class TrackingResolver {
  @Query(() => EngagementTrackingRecordConnection, { description: "Newest first; managers and admins see the whole organization." })
  engagementTrackingRecords(
    @Ctx() ctx: Context,
    @Arg("filter", () => EngagementTrackingRecordFilter, { nullable: true }) filter?: EngagementTrackingRecordFilter,
    @Arg("first", () => Int, { nullable: true }) first?: number,
    @Arg("after", () => String, { nullable: true }) after?: string,
  ) {
    const viewer = viewerOf(ctx);
    return ctx.services.tracking.list(viewer, filter, pageArgs(first, after)).then(toConnection);
  }

  @FieldResolver(() => ChatSessionObject)
  async chatSession(@Root() t: EngagementTrackingRecord, @Ctx() ctx: Context): Promise<ChatSession | null> {
    return ctx.loaders.chatSession.load(t.chatSessionId);
  }

  @FieldResolver(() => AssignmentRequestObject, { nullable: true })
  async request(@Root() t: EngagementTrackingRecord, @Ctx() ctx: Context): Promise<AssignmentRequest | null> {
    return t.requestId ? ctx.loaders.request.load(t.requestId) : null;
  }

  @FieldResolver(() => UserObject)
  async initiatedBy(@Root() t: EngagementTrackingRecord, @Ctx() ctx: Context): Promise<User | null> {
    return ctx.loaders.user.load(t.initiatedById);
  }

  @FieldResolver(() => UserObject, { description: "The chat's owner when the handover started." })
  async fromUser(@Root() t: EngagementTrackingRecord, @Ctx() ctx: Context): Promise<User | null> {
    return ctx.loaders.user.load(t.fromUserId);
  }

  @FieldResolver(() => UserObject)
  async toUser(@Root() t: EngagementTrackingRecord, @Ctx() ctx: Context): Promise<User | null> {
    return ctx.loaders.user.load(t.toUserId);
  }

  @FieldResolver(() => UserObject, { nullable: true })
  async respondedBy(@Root() t: EngagementTrackingRecord, @Ctx() ctx: Context): Promise<User | null> {
    return t.respondedById ? ctx.loaders.user.load(t.respondedById) : null;
  }
}
