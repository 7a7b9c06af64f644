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
}
