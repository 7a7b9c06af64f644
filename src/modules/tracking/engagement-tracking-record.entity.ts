import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";
import { RecipientType } from "../assignments/assignment-request.entity";

export enum TrackingKind {
  ASSIGN_REQUEST = "ASSIGN_REQUEST",
  DIRECT_ASSIGN = "DIRECT_ASSIGN",
  DISCUSS_REQUEST = "DISCUSS_REQUEST",
}

export enum TrackingStatus {
  PENDING = "PENDING",
  ACCEPTED = "ACCEPTED",
  REJECTED = "REJECTED",
  WITHDRAWN = "WITHDRAWN",
  TIMED_OUT = "TIMED_OUT",
  CANCELLED = "CANCELLED",
  ASSIGNED = "ASSIGNED",
  /** A DISCUSS request's discussion ended. */
  ENDED = "ENDED",
}

const numeric = { to: (v: number | null) => v, from: (v: string | null) => (v === null ? null : Number(v)) };

@Entity("engagement_tracking_records")
export class EngagementTrackingRecord {
  @PrimaryGeneratedColumn("uuid")
  id: string;

  @Column("uuid", { name: "organization_id" })
  organizationId: string;

  @Column("text")
  kind: TrackingKind;

  @Column("text")
  status: TrackingStatus;

  @Column("uuid", { name: "chat_session_id" })
  chatSessionId: string;

  @Column("uuid", { name: "request_id", nullable: true })
  requestId: string | null;

  @Column("uuid", { name: "bulk_operation_id", nullable: true })
  bulkOperationId: string | null;

  @Column("uuid", { name: "initiated_by_id" })
  initiatedById: string;

  @Column("uuid", { name: "from_user_id" })
  fromUserId: string;

  @Column("uuid", { name: "to_user_id" })
  toUserId: string;

  @Column("uuid", { name: "responded_by_id", nullable: true })
  respondedById: string | null;

  @Column("text", { name: "recipient_type", nullable: true })
  recipientType: RecipientType | null;

  @Column("text", { nullable: true })
  note: string | null;

  @Column("text", { nullable: true })
  reason: string | null;

  @Column("timestamptz", { name: "requested_at" })
  requestedAt: Date;

  @Column("timestamptz", { name: "responded_at", nullable: true })
  respondedAt: Date | null;

  @Column("timestamptz", { name: "expires_at", nullable: true })
  expiresAt: Date | null;

  @Column("integer", { name: "timeout_seconds", nullable: true })
  timeoutSeconds: number | null;

  @Column("numeric", { name: "response_seconds", nullable: true, transformer: numeric })
  responseSeconds: number | null;

  @Column("numeric", { name: "duration_seconds", nullable: true, transformer: numeric })
  durationSeconds: number | null;

  @Column("boolean", { name: "reason_is_preset", nullable: true })
  reasonIsPreset: boolean | null;

  @Column("uuid", { name: "previous_request_id", nullable: true })
  previousRequestId: string | null;

  @Column("integer")
  hop: number;

  @Column("uuid", { name: "discussion_id", nullable: true })
  discussionId: string | null;

  @Column("timestamptz", { name: "ended_at", nullable: true })
  endedAt: Date | null;

  @Column("uuid", { name: "ended_by_id", nullable: true })
  endedById: string | null;

  @Column("text", { name: "end_reason", nullable: true })
  endReason: string | null;

  @Column("integer", { name: "message_count", nullable: true })
  messageCount: number | null;

  /** The chat's reply window's end when the request was sent (issue #24). */
  @Column("timestamptz", { name: "reply_window_ends_at", nullable: true })
  replyWindowEndsAt: Date | null;

  /** A manager's override (issue #24): the loop rule this handover would otherwise have broken (HANDOVER_LOOP, HANDOVER_LIMIT_REACHED); null: none. */
  @Column("text", { name: "overridden_rule", nullable: true })
  overriddenRule: string | null;

  @Column("timestamptz", { name: "created_at" })
  createdAt: Date;

  @Column("timestamptz", { name: "updated_at" })
  updatedAt: Date;
}
