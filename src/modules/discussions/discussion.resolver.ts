import { Arg, Ctx, Field, FieldResolver, ID, InputType, Int, Mutation, Query, Resolver, Root, Subscription } from "type-graphql";
import { received } from "../../events/received";
import { audience } from "../../events/pubsub";
import { type Context, viewerOf } from "../../graphql/context";
import { revocable } from "../../graphql/subscriptions";
import { answerFromWrite } from "../../graphql/answer";
import { can } from "../../policy/access";
import { ConnectionType, pageArgs, toConnection } from "../../graphql/pagination";
import { AssignmentRequest } from "../assignments/assignment-request.entity";
import { DiscussChatInput } from "../assignments/assignment.inputs";
import { ChatSession } from "../chat-sessions/chat-session.entity";
import { User } from "../users/user.entity";
import { Discussion, DiscussionMessage, DiscussionStatus } from "./discussion.entity";
import { AssignmentRequestObject } from "../assignments/assignment-request.graphql";
import { ChatSessionObject } from "../chat-sessions/chat-session.graphql";
import { UserObject } from "../users/user.graphql";
import { DiscussionMessageObject, DiscussionObject } from "./discussion.graphql";

const DiscussionConnection = ConnectionType(DiscussionObject, "Discussion");
const DiscussionMessageConnection = ConnectionType(DiscussionMessageObject, "DiscussionMessage");

@InputType()
export class DiscussionFilter {
  @Field(() => DiscussionStatus, { nullable: true })
  status?: DiscussionStatus | null;

  @Field(() => ID, { nullable: true })
  chatSessionId?: string | null;
}

@Resolver(() => DiscussionObject)
export class DiscussionResolver {
  @Query(() => DiscussionObject, { nullable: true, description: "NOT_FOUND unless you take part in it or manage the organization." })
  discussion(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<Discussion> {
    return ctx.services.discussions.get(viewerOf(ctx), id);
  }

  @Query(() => DiscussionConnection, { description: "Newest first: yours, or the organization's for managers and admins." })
  discussions(
    @Ctx() ctx: Context,
    @Arg("filter", () => DiscussionFilter, { nullable: true }) filter?: DiscussionFilter,
    @Arg("first", () => Int, { nullable: true }) first?: number,
    @Arg("after", () => String, { nullable: true }) after?: string,
  ) {
    return ctx.services.discussions.list(viewerOf(ctx), filter, pageArgs(first, after)).then(toConnection);
  }

  @Mutation(() => AssignmentRequestObject, { description: "Ask a colleague to discuss a chat with you (a DISCUSS request); the chat stays yours." })
  discussChat(@Arg("input", () => DiscussChatInput) input: DiscussChatInput, @Ctx() ctx: Context): Promise<AssignmentRequest> {
    return ctx.services.handovers.discussChat(viewerOf(ctx), input, answerFromWrite(ctx));
  }

  @Mutation(() => DiscussionMessageObject, { description: "The two participants write (trimmed, 1..4000 characters) while the discussion is ACTIVE." })
  postDiscussionMessage(
    @Arg("discussionId", () => ID) discussionId: string,
    @Arg("body", () => String) body: string,
    @Ctx() ctx: Context,
  ): Promise<DiscussionMessage> {
    return ctx.services.discussions.post(viewerOf(ctx), discussionId, body);
  }

  @Mutation(() => DiscussionObject, { description: "A participant, a manager or an admin ends it; the reason is optional (at most 500 characters)." })
  endDiscussion(
    @Arg("discussionId", () => ID) discussionId: string,
    @Ctx() ctx: Context,
    @Arg("reason", () => String, { nullable: true }) reason?: string,
  ): Promise<Discussion> {
    return ctx.services.discussions.end(viewerOf(ctx), discussionId, reason);
  }

  @Subscription(() => DiscussionMessageObject, {
    description: "Messages of one discussion as they are written: its participants, and managers and admins of the organization.",
    subscribe: async ({ args, context }: { args: { discussionId: string }; context: Context }) => {
      const discussion = await context.services.discussions.get(viewerOf(context), args.discussionId);
      const feed = context.services.pubsub.subscribe("DISCUSSION_MESSAGE", audience.discussion(discussion.id), { onOverflow: context.onFeedOverflow, onInterrupted: context.onFeedInterrupted });
      // A manager following someone else's discussion loses it with the role (FORBIDDEN).
      return revocable(context, feed, (now) => can(now, "discussion.see", discussion));
    },
  })
  discussionMessageAdded(@Arg("discussionId", () => ID) _discussionId: string, @Root() message: DiscussionMessage, @Ctx() ctx: Context): DiscussionMessage {
    ctx.renewLoaders();
    return received.discussionMessage(message);
  }

  @FieldResolver(() => AssignmentRequestObject)
  request(@Root() d: Discussion, @Ctx() ctx: Context): Promise<AssignmentRequest | null> {
    return ctx.loaders.request.load(d.requestId);
  }

  @FieldResolver(() => ChatSessionObject)
  chatSession(@Root() d: Discussion, @Ctx() ctx: Context): Promise<ChatSession | null> {
    return ctx.loaders.chatSession.load(d.chatSessionId);
  }

  @FieldResolver(() => UserObject, { description: "Who asked: the DISCUSS request's sender." })
  requester(@Root() d: Discussion, @Ctx() ctx: Context): Promise<User | null> {
    return ctx.loaders.user.load(d.requesterId);
  }

  @FieldResolver(() => UserObject, { description: "The colleague asked: the DISCUSS request's recipient." })
  consultant(@Root() d: Discussion, @Ctx() ctx: Context): Promise<User | null> {
    return ctx.loaders.user.load(d.consultantId);
  }

  @FieldResolver(() => UserObject, { nullable: true, description: "Null while active, and when it ended by itself (the chat closed or changed hands)." })
  async endedBy(@Root() d: Discussion, @Ctx() ctx: Context): Promise<User | null> {
    return d.endedById ? ctx.loaders.user.load(d.endedById) : null;
  }

  @FieldResolver(() => DiscussionMessageConnection, { description: "Oldest first." })
  messages(
    @Root() d: Discussion,
    @Ctx() ctx: Context,
    @Arg("first", () => Int, { nullable: true }) first?: number,
    @Arg("after", () => String, { nullable: true }) after?: string,
  ) {
    return ctx.services.discussions.messages(d, pageArgs(first, after)).then(toConnection);
  }
}

@Resolver(() => DiscussionMessageObject)
export class DiscussionMessageResolver {
  @FieldResolver(() => DiscussionObject)
  discussion(@Root() m: DiscussionMessage, @Ctx() ctx: Context): Promise<Discussion | null> {
    return ctx.loaders.discussion.load(m.discussionId);
  }

  @FieldResolver(() => UserObject)
  author(@Root() m: DiscussionMessage, @Ctx() ctx: Context): Promise<User | null> {
    return ctx.loaders.user.load(m.authorId);
  }
}
