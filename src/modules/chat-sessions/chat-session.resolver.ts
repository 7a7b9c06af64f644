import { Arg, Ctx, Field, FieldResolver, ID, InputType, Int, Mutation, Query, Resolver, Root, Subscription } from "type-graphql";
import { replyWindow } from "../../engine/reply-window";
import { audience, type ChatSessionMessage } from "../../events/pubsub";
import { Filtered } from "../../events/feed";
import { chatVisible, receiveChatSession, revocable } from "../../graphql/subscriptions";
import { notFound } from "../../errors";
import { type Context, viewerOf } from "../../graphql/context";
import { ConnectionType, pageArgs, toConnection } from "../../graphql/pagination";
import { AssignmentRequest } from "../assignments/assignment-request.entity";
import { User } from "../users/user.entity";
import { can } from "../../policy/access";
import { ChatSession, ChatStatus } from "./chat-session.entity";
import { AssignmentRequestObject } from "../assignments/assignment-request.graphql";
import { UserObject } from "../users/user.graphql";
import { ChatSessionObject } from "./chat-session.graphql";
import { ChatSessionOrder } from "./chat-session.service";

const ChatSessionConnection = ConnectionType(ChatSessionObject, "ChatSession");

@InputType()
export class ChatSessionFilter {
  @Field(() => ID, { nullable: true })
  ownerId?: string | null;

  @Field(() => ChatStatus, { nullable: true })
  status?: ChatStatus | null;

  @Field(() => String, {
    nullable: true,
    description: "Part of the customer's name (any case), or of their phone number (3 digits or more, other characters ignored); 1..100 characters.",
  })
  search?: string | null;
}

@InputType()
export class OpenChatSessionInput {
  @Field()
  customerName: string;

  @Field({ description: "E.164, e.g. +14155550123" })
  customerPhone: string;

  @Field(() => ID)
  ownerId: string;

  @Field(() => Date, { nullable: true })
  lastCustomerMessageAt?: Date | null;
}

@Resolver(() => ChatSessionObject)
export class ChatSessionResolver {
  @Query(() => ChatSessionConnection, { description: "The organization's chats, newest first (or as orderBy says)." })
  chatSessions(
    @Ctx() ctx: Context,
    @Arg("filter", () => ChatSessionFilter, { nullable: true }) filter?: ChatSessionFilter,
    @Arg("first", () => Int, { nullable: true }) first?: number,
    @Arg("after", () => String, { nullable: true }) after?: string,
    @Arg("orderBy", () => ChatSessionOrder, { nullable: true, description: "Default NEWEST. A cursor continues the order it came from." })
    orderBy?: ChatSessionOrder | null,
  ) {
    const viewer = viewerOf(ctx);
    return ctx.services.chats.list(viewer, filter, pageArgs(first, after), orderBy ?? ChatSessionOrder.NEWEST).then(toConnection);
  }

  @Query(() => ChatSessionObject, { nullable: true })
  async chatSession(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<ChatSession> {
    const chat = await ctx.services.chats.get(viewerOf(ctx), id);
    if (!chat) throw notFound("Chat session");
    return chat;
  }

  @Mutation(() => ChatSessionObject, { description: "Admins (the WhatsApp connector): a new conversation and its owner." })
  openChatSession(@Arg("input", () => OpenChatSessionInput) input: OpenChatSessionInput, @Ctx() ctx: Context): Promise<ChatSession> {
    return ctx.services.chats.open(viewerOf(ctx), input);
  }

  @Mutation(() => ChatSessionObject, { description: "The owner, a manager or an admin; cancels a pending request on it." })
  closeChatSession(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<ChatSession> {
    return ctx.services.chats.close(viewerOf(ctx), id);
  }

  @Subscription(() => ChatSessionObject, {
    description: "Owner or status changes of chats I own or just lost; the whole organization's for managers and admins.",
    subscribe: ({ context }: { context: Context }) => {
      const viewer = viewerOf(context);
      const organizationWide = can(viewer, "organization.follow");
      // A reader that falls behind (a bulk move) gets every chat that changed, read again as it is now: never cut.
      const states = context.services.pubsub.subscribeCoalescing(
        "CHAT_SESSION_UPDATED",
        organizationWide ? audience.organization(viewer.organizationId) : audience.user(viewer.id),
        {
          keyOf: (m: ChatSessionMessage) => m.chat.id,
          compact: (m: ChatSessionMessage) => ({ id: m.chat.id, previousOwnerId: m.previousOwnerId }),
          expand: async (items: Array<{ id: string; previousOwnerId: string | null }>) => {
            const hint = new Map(items.map((i) => [i.id, i.previousOwnerId]));
            const chats = await context.services.chats.getMany(viewer, [...hint.keys()]);
            return chats.map((chat) => ({ chat, previousOwnerId: hint.get(chat.id) ?? null }));
          },
          onOverflow: context.onFeedOverflow,
          onReadFailed: () => context.onFeedInterrupted?.(),
          onInterrupted: context.onFeedInterrupted,
        },
      );
      const feed = new Filtered(states, (m: ChatSessionMessage) => chatVisible(viewer, m));
      // An organization-wide feed ends (FORBIDDEN) when its viewer loses the role it was decided on.
      return revocable(context, feed, (now) => !organizationWide || can(now, "organization.follow"));
    },
  })
  chatSessionUpdated(@Root() message: ChatSessionMessage, @Ctx() ctx: Context): ChatSession {
    return receiveChatSession(ctx, message);
  }

  @Mutation(() => ChatSessionObject, {
    description:
      "Admins (the WhatsApp connector, per inbound message): the chat keeps the latest customer message's time (an older `at` changes nothing; more than 5 minutes ahead is BAD_USER_INPUT), which opens its reply window again.",
  })
  recordCustomerMessage(@Arg("chatSessionId", () => ID) chatSessionId: string, @Arg("at", () => Date) at: Date, @Ctx() ctx: Context): Promise<ChatSession> {
    return ctx.services.chats.recordCustomerMessage(viewerOf(ctx), chatSessionId, at);
  }

  @FieldResolver(() => Date, { nullable: true, description: "When WhatsApp's reply window ends: the customer's last message + the organization's replyWindowHours (null: no message yet, or no window)." })
  async replyWindowEndsAt(@Root() chat: ChatSession, @Ctx() ctx: Context): Promise<Date | null> {
    return replyWindow(chat.lastCustomerMessageAt, (await ctx.loaders.settings()).replyWindowHours, new Date()).endsAt;
  }

  @FieldResolver(() => Boolean, { description: "Free text may be sent now: the window has not ended (or the channel has none). Closed: approved templates only." })
  async replyWindowOpen(@Root() chat: ChatSession, @Ctx() ctx: Context): Promise<boolean> {
    return replyWindow(chat.lastCustomerMessageAt, (await ctx.loaders.settings()).replyWindowHours, new Date()).open;
  }

  @FieldResolver(() => UserObject)
  async owner(@Root() chat: ChatSession, @Ctx() ctx: Context): Promise<User | null> {
    return ctx.loaders.user.load(chat.ownerId);
  }

  @FieldResolver(() => AssignmentRequestObject, { nullable: true })
  async pendingRequest(@Root() chat: ChatSession, @Ctx() ctx: Context): Promise<AssignmentRequest | null> {
    return ctx.loaders.pendingRequestByChat.load(chat.id);
  }
}
