import { randomUUID } from "node:crypto";
import type { DataSource } from "typeorm";
import { type AfterCommitErrorHandler, inTransaction } from "../../db/transaction";
import { BatonError, badInput, ErrorCode, notFound } from "../../errors";
import { newestFirst } from "../../db/keyset";
import type { Page, PageArgs } from "../../kernel/page";
import { type BatonPubSub, publishChatSessionUpdated } from "../../events/pubsub";
import { requireId, requirePhone, requireText } from "../../validation";
import type { HandoverEngine } from "../../engine/handover-engine";
import { User } from "../users/user.entity";
import { requireAccess } from "../../policy/access";
import { ChatChannel, ChatSession, ChatStatus } from "./chat-session.entity";

export interface ChatSessionFilterData {
  ownerId?: string | null;
  status?: ChatStatus | null;
}

export interface OpenChatSessionData {
  customerName: string;
  customerPhone: string;
  ownerId: string;
  lastCustomerMessageAt?: Date | null;
}

export class ChatSessionService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly pubsub: BatonPubSub,
    private readonly assignments: HandoverEngine,
    private readonly onEffectError: AfterCommitErrorHandler,
  ) {}

  /** Chats are the team's shared inbox: every member of the organization may read them. */
  async get(viewer: User, id: string): Promise<ChatSession | null> {
    return this.dataSource.manager.findOneBy(ChatSession, {
      id: requireId(id, "id"),
      organizationId: viewer.organizationId,
    });
  }

  async list(viewer: User, filter: ChatSessionFilterData | null | undefined, page: PageArgs): Promise<Page<ChatSession>> {
    const q = this.dataSource.manager
      .createQueryBuilder(ChatSession, "c")
      .where("c.organization_id = :org", { org: viewer.organizationId });
    if (filter?.ownerId) q.andWhere("c.owner_id = :owner", { owner: requireId(filter.ownerId, "ownerId") });
    if (filter?.status) q.andWhere("c.status = :status", { status: filter.status });
    return newestFirst(q, page);
  }

  /** Admins (the WhatsApp connector) open chats for a customer and give them an owner. */
  async open(viewer: User, input: OpenChatSessionData): Promise<ChatSession> {
    requireAccess(viewer, "chat.open");
    const customerName = requireText(input.customerName, "customerName", 1, 200);
    const customerPhone = requirePhone(input.customerPhone);
    const ownerId = requireId(input.ownerId, "ownerId");
    const last = input.lastCustomerMessageAt ?? null;
    if (last && Number.isNaN(last.getTime())) throw badInput("lastCustomerMessageAt is not a valid time", "lastCustomerMessageAt");

    const owner = await this.dataSource.manager.findOneBy(User, { id: ownerId, organizationId: viewer.organizationId });
    if (!owner) throw notFound("Owner");
    if (!owner.active) throw badInput("The owner is not active", "ownerId");
    const id = randomUUID();
    await this.dataSource.manager.insert(ChatSession, {
      id,
      organizationId: viewer.organizationId,
      customerName,
      customerPhone,
      channel: ChatChannel.WHATSAPP,
      status: ChatStatus.OPEN,
      ownerId: owner.id,
      lastCustomerMessageAt: last,
    });
    const chat = await this.dataSource.manager.findOneByOrFail(ChatSession, { id });
    publishChatSessionUpdated(this.pubsub, { chat, previousOwnerId: null });
    return chat;
  }

  /** The owner, a manager or an admin closes a chat; its pending request is cancelled with it. */
  async close(viewer: User, id: string): Promise<ChatSession> {
    const chatId = requireId(id, "id");
    return inTransaction(this.dataSource, async (tx) => {
      const chat = await tx.manager.findOne(ChatSession, {
        where: { id: chatId, organizationId: viewer.organizationId },
        lock: { mode: "for_no_key_update" },
      });
      if (!chat) throw notFound("Chat session");
      requireAccess(viewer, "chat.close", chat);
      if (chat.status === ChatStatus.CLOSED) throw new BatonError(ErrorCode.CHAT_CLOSED, "The chat session is already closed");
      const now = new Date();
      await tx.manager.update(ChatSession, { id: chat.id }, { status: ChatStatus.CLOSED, updatedAt: now });
      await this.assignments.cancelPendingForChats(tx, [chat.id], viewer, "The chat was closed", now);
      const closed = Object.assign(new ChatSession(), chat, { status: ChatStatus.CLOSED, updatedAt: now });
      tx.afterCommit(() => publishChatSessionUpdated(this.pubsub, { chat: closed, previousOwnerId: null }));
      return closed;
    }, this.onEffectError);
  }
}
