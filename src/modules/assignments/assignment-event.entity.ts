import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";

export enum AssignmentEventType {
  CREATED = "CREATED",
  ACCEPTED = "ACCEPTED",
  REJECTED = "REJECTED",
  WITHDRAWN = "WITHDRAWN",
  TIMED_OUT = "TIMED_OUT",
  CANCELLED = "CANCELLED",
  ASSIGNED = "ASSIGNED",
  /** A discussion (the stage after an accepted DISCUSS request) ended. */
  DISCUSSION_ENDED = "DISCUSSION_ENDED",
}

/** Append-only: one row per transition, in commit order of its sequence. */
@Entity("assignment_events")
export class AssignmentEvent {
  @PrimaryGeneratedColumn("increment", { type: "bigint" })
  sequence: string;

  @Column("uuid", { name: "organization_id" })
  organizationId: string;

  @Column("text")
  type: AssignmentEventType;

  @Column("uuid", { name: "request_id", nullable: true })
  requestId: string | null;

  @Column("uuid", { name: "tracking_record_id" })
  trackingRecordId: string;

  @Column("uuid", { name: "chat_session_id" })
  chatSessionId: string;

  @Column("uuid", { name: "actor_id", nullable: true })
  actorId: string | null;

  @Column("uuid", { name: "from_user_id" })
  fromUserId: string;

  @Column("uuid", { name: "to_user_id" })
  toUserId: string;

  @Column("timestamptz", { name: "occurred_at" })
  occurredAt: Date;

  /** What the event established (events.repository.ts `auditFacts`): part of its audit record. */
  @Column("jsonb")
  facts: Record<string, string | number | null>;

  /** The hash of the organization's previous event (64 zeros for its first). */
  @Column("text", { name: "previous_hash" })
  previousHash: string;

  /** Lowercase hex SHA-256 of `auditRecord`'s UTF-8 bytes. */
  @Column("text")
  hash: string;

  /** The JCS text that was hashed (issue #25; migrations/1764310000000-AuditChain.ts). */
  @Column("text", { name: "audit_record" })
  auditRecord: string;
}
