import { Column, Entity, PrimaryColumn } from "typeorm";

export enum DiscussionStatus {
  ACTIVE = "ACTIVE",
  ENDED = "ENDED",
}

@Entity("discussions")
export class Discussion {
  @PrimaryColumn("uuid")
  id: string;

  @Column("uuid", { name: "organization_id" })
  organizationId: string;

  @Column("uuid", { name: "request_id" })
  requestId: string;

  @Column("uuid", { name: "chat_session_id" })
  chatSessionId: string;

  @Column("uuid", { name: "requester_id" })
  requesterId: string;

  @Column("uuid", { name: "consultant_id" })
  consultantId: string;

  @Column("text")
  status: DiscussionStatus;

  @Column("timestamptz", { name: "started_at" })
  startedAt: Date;

  @Column("timestamptz", { name: "ended_at", nullable: true })
  endedAt: Date | null;

  @Column("uuid", { name: "ended_by_id", nullable: true })
  endedById: string | null;

  @Column("text", { name: "end_reason", nullable: true })
  endReason: string | null;

  @Column("integer", { name: "message_count" })
  messageCount: number;
}

@Entity("discussion_messages")
export class DiscussionMessage {
  @PrimaryColumn("uuid")
  id: string;

  @Column("uuid", { name: "organization_id" })
  organizationId: string;

  @Column("uuid", { name: "discussion_id" })
  discussionId: string;

  @Column("uuid", { name: "author_id" })
  authorId: string;

  @Column("text")
  body: string;

  @Column("timestamptz", { name: "created_at" })
  createdAt: Date;
}
