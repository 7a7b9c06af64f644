import { randomUUID } from "node:crypto";
import type { DataSource } from "typeorm";
import { poolSql } from "../../db/sql";
import { afterCommit } from "../../db/unit-of-work";
import { discussionEnded, type HandoverEngine } from "../../engine/handover-engine";
import { notFound } from "../../errors";
import { type BatonPubSub, publishDiscussionMessage } from "../../events/pubsub";
import type { Page, PageArgs } from "../../kernel/page";
import { partyFilter, requireAccess } from "../../policy/access";
import { DiscussionRepository } from "../../repositories/discussion.repository";
import { requireId, requireText } from "../../validation";
import type { User } from "../users/user.entity";
import { type Discussion, type DiscussionMessage, DiscussionStatus } from "./discussion.entity";

export const MAX_MESSAGE_CHARACTERS = 4_000;

export interface DiscussionFilterData {
  status?: DiscussionStatus | null;
  chatSessionId?: string | null;
}

/**
 * Discussions: the stage after an accepted DISCUSS request. Opening and ending them are the
 * engine's (they come with a request's transitions and a chat's changes); reading and writing
 * messages are here.
 */
export class DiscussionService {
  private readonly repo: DiscussionRepository;

  constructor(
    dataSource: DataSource,
    private readonly engine: HandoverEngine,
    private readonly pubsub: BatonPubSub,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.repo = new DiscussionRepository(poolSql(dataSource));
  }

  /** A discussion the viewer may see (participants, managers, admins); NOT_FOUND otherwise, as for another organization's ids. */
  async get(viewer: User, id: string): Promise<Discussion> {
    const discussion = await this.repo.findById(viewer.organizationId, requireId(id, "discussionId"));
    if (!discussion) throw notFound("Discussion");
    requireAccess(viewer, "discussion.see", discussion);
    return discussion;
  }

  /** Newest first: the organization's for managers and admins, the viewer's own for users. */
  list(viewer: User, filter: DiscussionFilterData | null | undefined, page: PageArgs): Promise<Page<Discussion>> {
    return this.repo.list(
      viewer.organizationId,
      {
        participantId: partyFilter(viewer),
        status: filter?.status ?? null,
        chatSessionId: filter?.chatSessionId ? requireId(filter.chatSessionId, "chatSessionId") : null,
      },
      page,
    );
  }

  /** A discussion's messages, oldest first (the discussion was already found visible). */
  messages(discussion: Discussion, page: PageArgs): Promise<Page<DiscussionMessage>> {
    return this.repo.messages(discussion.id, page);
  }

  /** A participant writes (trimmed, 1 to 4,000 characters); delivered live to those following the discussion. */
  async post(viewer: User, discussionId: string, body: string): Promise<DiscussionMessage> {
    const text = requireText(body, "body", 1, MAX_MESSAGE_CHARACTERS);
    const discussion = await this.get(viewer, discussionId);
    requireAccess(viewer, "discussion.post", discussion);
    if (discussion.status !== DiscussionStatus.ACTIVE) throw discussionEnded();
    const message = await this.repo.post(viewer.organizationId, {
      id: randomUUID(),
      discussionId: discussion.id,
      authorId: viewer.id,
      body: text,
      now: this.clock(),
    });
    if (!message) throw discussionEnded(); // it ended between the read and the write
    // Inside an idempotent mutation's unit, published once it commits.
    await afterCommit(() => publishDiscussionMessage(this.pubsub, message), () => this.pubsub.reportMissed());
    return message;
  }

  end(viewer: User, discussionId: string, reason: string | null | undefined): Promise<Discussion> {
    return this.engine.endDiscussion(viewer, discussionId, reason ?? null);
  }
}
