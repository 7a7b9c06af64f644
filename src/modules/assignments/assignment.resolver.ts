import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { type Context, viewerOf } from "../../graphql/context";
import { answerFromWrite } from "../../graphql/answer";
import { ConnectionType, pageArgs, toConnection } from "../../graphql/pagination";
import { ChatSession } from "../chat-sessions/chat-session.entity";
import { EngagementTrackingRecord } from "../tracking/engagement-tracking-record.entity";
import { User } from "../users/user.entity";
import { AssignmentRequest, RequestKind, RequestStatus } from "./assignment-request.entity";
import { Discussion } from "../discussions/discussion.entity";
import { AssignChatInput, AssignmentRequestFilter } from "./assignment.inputs";
import { can } from "../../policy/access";
import { ChatSessionObject } from "../chat-sessions/chat-session.graphql";
import { DiscussionObject } from "../discussions/discussion.graphql";
import { EngagementTrackingRecordObject } from "../tracking/engagement-tracking-record.graphql";
import { UserObject } from "../users/user.graphql";
import { AssignmentRequestObject } from "./assignment-request.graphql";

/** A linked request as the viewer may see it: the policy's request.see, else nothing (as if it did not exist). */
function visibleRequest(ctx: Context, request: AssignmentRequest | null): AssignmentRequest | null {
  return request && can(viewerOf(ctx), "request.see", request) ? request : null;
}

const AssignmentRequestConnection = ConnectionType(AssignmentRequestObject, "AssignmentRequest");

@Resolver(() => AssignmentRequestObject)
export class AssignmentResolver {
  @Query(() => AssignmentRequestObject, { nullable: true, description: "NOT_FOUND unless you sent it, received it, or manage the organization." })
  assignmentRequest(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<AssignmentRequest> {
    return ctx.services.handovers.findVisible(viewerOf(ctx), id);
  }

  @Query(() => AssignmentRequestConnection)
  assignmentRequests(
    @Ctx() ctx: Context,
    @Arg("filter", () => AssignmentRequestFilter, { nullable: true }) filter?: AssignmentRequestFilter,
    @Arg("first", () => Int, { nullable: true }) first?: number,
    @Arg("after", () => String, { nullable: true }) after?: string,
  ) {
    const viewer = viewerOf(ctx);
    return ctx.services.assignmentQueries.list(viewer, filter, pageArgs(first, after)).then(toConnection);
  }

  @Mutation(() => AssignmentRequestObject, { description: "Ask a colleague to take a chat over." })
  assignChat(@Arg("input", () => AssignChatInput) input: AssignChatInput, @Ctx() ctx: Context): Promise<AssignmentRequest> {
    return ctx.services.handovers.assignChat(viewerOf(ctx), input, answerFromWrite(ctx));
  }

  @Mutation(() => AssignmentRequestObject, { description: "The recipient takes the chat; it becomes theirs." })
  acceptAssignment(@Arg("requestId", () => ID) requestId: string, @Ctx() ctx: Context): Promise<AssignmentRequest> {
    return ctx.services.handovers.acceptAssignment(viewerOf(ctx), requestId, answerFromWrite(ctx));
  }

  @Mutation(() => AssignmentRequestObject, { description: "The recipient declines, with a reason (1..500 characters)." })
  rejectAssignment(
    @Arg("requestId", () => ID) requestId: string,
    @Arg("reason", () => String) reason: string,
    @Ctx() ctx: Context,
  ): Promise<AssignmentRequest> {
    return ctx.services.handovers.rejectAssignment(viewerOf(ctx), requestId, reason, answerFromWrite(ctx));
  }

  @Mutation(() => AssignmentRequestObject, { description: "The sender (or a manager or admin) takes the request back, with a reason." })
  withdrawAssignment(
    @Arg("requestId", () => ID) requestId: string,
    @Arg("reason", () => String) reason: string,
    @Ctx() ctx: Context,
  ): Promise<AssignmentRequest> {
    return ctx.services.handovers.withdrawAssignment(viewerOf(ctx), requestId, reason, answerFromWrite(ctx));
  }

  @FieldResolver(() => ChatSessionObject)
  async chatSession(@Root() r: AssignmentRequest, @Ctx() ctx: Context): Promise<ChatSession | null> {
    return ctx.loaders.chatSession.load(r.chatSessionId);
  }

  @FieldResolver(() => UserObject)
  async sender(@Root() r: AssignmentRequest, @Ctx() ctx: Context): Promise<User | null> {
    return ctx.loaders.user.load(r.senderId);
  }

  @FieldResolver(() => UserObject)
  async recipient(@Root() r: AssignmentRequest, @Ctx() ctx: Context): Promise<User | null> {
    return ctx.loaders.user.load(r.recipientId);
  }

  @FieldResolver(() => UserObject, { nullable: true, description: "Who accepted, rejected, withdrew or cancelled it; null for a timeout." })
  async respondedBy(@Root() r: AssignmentRequest, @Ctx() ctx: Context): Promise<User | null> {
    return r.respondedById ? ctx.loaders.user.load(r.respondedById) : null;
  }

  @FieldResolver(() => DiscussionObject, { nullable: true, description: "DISCUSS requests, once accepted: the discussion they opened." })
  async discussion(@Root() r: AssignmentRequest, @Ctx() ctx: Context): Promise<Discussion | null> {
    if (r.kind !== RequestKind.DISCUSS || r.status !== RequestStatus.ACCEPTED) return null;
    // Whoever sees the request (its two parties, managers) may see its discussion: the same people.
    return ctx.loaders.discussionByRequest.load(r.id);
  }

  @FieldResolver(() => [UserObject], { description: "A fallback chain's users still to try after this request, in order (as named; each is checked when their turn comes)." })
  async fallbackRecipients(@Root() r: AssignmentRequest, @Ctx() ctx: Context): Promise<User[]> {
    const users = await ctx.loaders.user.loadMany(r.fallbackRecipientIds ?? []);
    return users.filter((u): u is User => u instanceof User);
  }

  @FieldResolver(() => AssignmentRequestObject, { nullable: true, description: "The hop before this one in its fallback chain (null on the first, or when you may not see it)." })
  async previousRequest(@Root() r: AssignmentRequest, @Ctx() ctx: Context): Promise<AssignmentRequest | null> {
    if (!r.previousRequestId) return null;
    return visibleRequest(ctx, await ctx.loaders.request.load(r.previousRequestId));
  }

  @FieldResolver(() => AssignmentRequestObject, { nullable: true, description: "The hop after this one, once the chain made it (null otherwise, or when you may not see it)." })
  async nextRequest(@Root() r: AssignmentRequest, @Ctx() ctx: Context): Promise<AssignmentRequest | null> {
    if (r.kind !== RequestKind.ASSIGN || r.status === RequestStatus.PENDING) return null;
    return visibleRequest(ctx, await ctx.loaders.nextRequest.load(r.id));
  }

  @FieldResolver(() => EngagementTrackingRecordObject)
  async trackingRecord(@Root() r: AssignmentRequest, @Ctx() ctx: Context): Promise<EngagementTrackingRecord | null> {
    return ctx.loaders.trackingRecordByRequest.load(r.id);
  }
}
