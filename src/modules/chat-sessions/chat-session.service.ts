import type { DataSource } from "typeorm";
import { type AfterCommitErrorHandler, inTransaction } from "../../db/transaction";
import { BatonError, badInput, ErrorCode, notFound } from "../../errors";
import { afterCommit } from "../../db/unit-of-work";
import { poolSql } from "../../db/sql";
import { ChatRepository } from "../../repositories/chat.repository";
import { UserRepository } from "../../repositories/user.repository";
import type { Page, PageArgs } from "../../kernel/page";
import { Batcher } from "../../kernel/batcher";
import { type BatonPubSub, publishChatSessionUpdated } from "../../events/pubsub";
import { requireId, requirePhone, requireText } from "../../validation";
import type { HandoverEngine } from "../../engine/handover-engine";
import { MAX_MESSAGE_CLOCK_SKEW_MS } from "../../engine/reply-window";
import type { User } from "../users/user.entity";
import { audienceOf, requireAccess } from "../../policy/access";
import { ChatChannel, type ChatSession, ChatStatus } from "./chat-session.entity";

export interface ChatSessionFilterData {
  ownerId?: string | null;
  status?: ChatStatus | null;
  /** Part of the customer's name (any case) or of their phone number (its digits). */
  search?: string | null;
}

/** A list's order: newest chats first, or those whose customer wrote last first (never written: last). */
export enum ChatSessionOrder {
  NEWEST = "NEWEST",
  LATEST_CUSTOMER_MESSAGE = "LATEST_CUSTOMER_MESSAGE",
}

export interface OpenChatSessionData {
  customerName: string;
  customerPhone: string;
  ownerId: string;
  lastCustomerMessageAt?: Date | null;
}

/** One inbound message's time, to record on its chat. */
interface CustomerMessage {
  organizationId: string;
  id: string;
  at: Date;
}

export class ChatSessionService {
  private readonly chats: ChatRepository;
  private readonly users: UserRepository;
  /**
   * The connector's calls (one per inbound message, many at once) written together: those that
   * arrive while a statement is in flight share the next one (src/kernel/batcher.ts). A failed
   * statement fails each of its calls, with its error.
   */
  private readonly messages: Batcher<CustomerMessage, ChatSession | null>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly pubsub: BatonPubSub,
    private readonly assignments: HandoverEngine,
    private readonly onEffectError: AfterCommitErrorHandler,
  ) {
    const db = poolSql(dataSource);
    this.chats = new ChatRepository(db);
    this.users = new UserRepository(db);
    this.messages = new Batcher(
      async (batch) => {
        const byChat = new Map((await this.chats.recordCustomerMessages(batch)).map((c) => [c.id, c]));
        return batch.map((m) => {
          const chat = byChat.get(m.id);
          return chat && chat.organizationId === m.organizationId ? chat : null;
        });
      },
      { maxInFlight: 2, maxBatch: 500 },
    );
  }

  /** Chats are the team's shared inbox: every member of the organization may read them. */
  get(viewer: User, id: string): Promise<ChatSession | null> {
    return this.chats.findById(viewer.organizationId, requireId(id, "id"));
  }

  /** Several chats as they are now (a feed catching up reads them again); ids of other organizations are not found. */
  getMany(viewer: User, ids: string[]): Promise<ChatSession[]> {
    return this.chats.byIds(viewer.organizationId, ids);
  }

  list(viewer: User, filter: ChatSessionFilterData | null | undefined, page: PageArgs, order: ChatSessionOrder = ChatSessionOrder.NEWEST): Promise<Page<ChatSession>> {
    const search = filter?.search?.trim() ? requireText(filter.search.trim(), "search", 1, 100) : null;
    return this.chats.list(
      viewer.organizationId,
      { ownerId: filter?.ownerId ? requireId(filter.ownerId, "ownerId") : null, status: filter?.status ?? null, search },
      page,
      order === ChatSessionOrder.LATEST_CUSTOMER_MESSAGE ? "latestCustomerMessage" : "newest",
    );
  }

  /** Admins (the WhatsApp connector) open chats for a customer and give them an owner. */
  async open(viewer: User, input: OpenChatSessionData): Promise<ChatSession> {
    requireAccess(viewer, "chat.open");
    const customerName = requireText(input.customerName, "customerName", 1, 200);
    const customerPhone = requirePhone(input.customerPhone);
    const ownerId = requireId(input.ownerId, "ownerId");
    const last = input.lastCustomerMessageAt ?? null;
    if (last && Number.isNaN(last.getTime())) throw badInput("lastCustomerMessageAt is not a valid time", "lastCustomerMessageAt");

    const owner = await this.users.findById(ownerId);
    if (!owner || owner.organizationId !== viewer.organizationId) throw notFound("Owner");
    if (!owner.active) throw badInput("The owner is not active", "ownerId");
    const chat = await this.chats.insert({
      organizationId: viewer.organizationId,
      customerName,
      customerPhone,
      channel: ChatChannel.WHATSAPP,
      ownerId: owner.id,
      lastCustomerMessageAt: last,
    });
    // Inside an idempotent mutation's unit, published once it commits.
    await afterCommit(
      () => publishChatSessionUpdated(this.pubsub, { chat, previousOwnerId: null }, audienceOf.chat(chat.organizationId, { chat, previousOwnerId: null })),
      this.onEffectError,
    );
    return chat;
  }

  /** The owner, a manager or an admin closes a chat; its pending request is cancelled with it. */
  /**
   * Admins (the connector, per inbound message): the chat keeps the latest customer message's
   * time, which opens its reply window again. A time more than 5 minutes ahead is BAD_USER_INPUT.
   */
  async recordCustomerMessage(viewer: User, id: string, at: Date): Promise<ChatSession> {
    requireAccess(viewer, "chat.recordMessage");
    const chatId = requireId(id, "chatSessionId");
    if (!(at instanceof Date) || Number.isNaN(at.getTime())) throw badInput("at is not a valid time", "at");
    if (at.getTime() > Date.now() + MAX_MESSAGE_CLOCK_SKEW_MS) throw badInput("at is more than 5 minutes in the future", "at");
    const chat = await this.messages.load({ organizationId: viewer.organizationId, id: chatId, at });
    if (!chat) throw notFound("Chat session");
    return chat;
  }

  async close(viewer: User, id: string): Promise<ChatSession> {
    const chatId = requireId(id, "id");
    return inTransaction(
      this.dataSource,
      async (tx) => {
        const chat = await this.chats.lock(tx.sql, viewer.organizationId, chatId);
        if (!chat) throw notFound("Chat session");
        requireAccess(viewer, "chat.close", chat);
        if (chat.status === ChatStatus.CLOSED) throw new BatonError(ErrorCode.CHAT_CLOSED, "The chat session is already closed");
        const now = new Date();
        const closed = await this.chats.close(tx.sql, chat.id, now);
        await this.assignments.chatChanged(tx, [chat.id], viewer, "The chat was closed", now);
        tx.afterCommit(() => publishChatSessionUpdated(this.pubsub, { chat: closed, previousOwnerId: null }, audienceOf.chat(closed.organizationId, { chat: closed, previousOwnerId: null })));
        return closed;
      },
      this.onEffectError,
    );
  }
}
