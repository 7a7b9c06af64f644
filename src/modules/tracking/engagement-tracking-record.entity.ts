import { Field, Float, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";
import { RecipientType } from "../assignments/assignment-request.entity";

export enum TrackingKind {
  ASSIGN_REQUEST = "ASSIGN_REQUEST",
  DIRECT_ASSIGN = "DIRECT_ASSIGN",
  DISCUSS_REQUEST = "DISCUSS_REQUEST",
}
registerEnumType(TrackingKind, { name: "TrackingKind" });

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
registerEnumType(TrackingStatus, { name: "TrackingStatus" });

const numeric = { to: (v: number | null) => v, from: (v: string | null) => (v === null ? null : Number(v)) };

@ObjectType({ description: "One handover attempt, kept for reporting; updated at every status change." })
@Entity("engagement_tracking_records")
export class EngagementTrackingRecord {
  @Field(() => ID)
  @PrimaryGeneratedColumn("uuid")
  id: string;

  @Column("uuid", { name: "organization_id" })
  organizationId: string;

  @Field(() => TrackingKind)
  @Column("text")
  kind: TrackingKind;

  @Field(() => TrackingStatus)
  @Column("text")
  status: TrackingStatus;

  @Column("uuid", { name: "chat_session_id" })
  chatSessionId: string;

  @Column("uuid", { name: "request_id", nullable: true })
  requestId: string | null;

  @Field(() => ID, { nullable: true, description: "Set on records written by one bulk assignment." })
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

  @Field(() => RecipientType, { nullable: true })
  @Column("text", { name: "recipient_type", nullable: true })
  recipientType: RecipientType | null;

  @Field(() => String, { nullable: true })
  @Column("text", { nullable: true })
  note: string | null;

  @Field(() => String, { nullable: true })
  @Column("text", { nullable: true })
  reason: string | null;

  @Field()
  @Column("timestamptz", { name: "requested_at" })
  requestedAt: Date;

  @Field(() => Date, { nullable: true })
  @Column("timestamptz", { name: "responded_at", nullable: true })
  respondedAt: Date | null;

  @Field(() => Date, { nullable: true })
  @Column("timestamptz", { name: "expires_at", nullable: true })
  expiresAt: Date | null;

  @Field(() => Int, { nullable: true })
  @Column("integer", { name: "timeout_seconds", nullable: true })
  timeoutSeconds: number | null;

  @Field(() => Float, { nullable: true, description: "Seconds from request to a person's response (accept, reject); null when nobody responded." })
  @Column("numeric", { name: "response_seconds", nullable: true, transformer: numeric })
  responseSeconds: number | null;

  @Field(() => Float, { nullable: true, description: "Seconds from request to settled, whatever settled it; null while pending." })
  @Column("numeric", { name: "duration_seconds", nullable: true, transformer: numeric })
  durationSeconds: number | null;

  @Field(() => Boolean, { nullable: true, description: "Whether the reason was one of the organization's quick picks (null without a reason)." })
  @Column("boolean", { name: "reason_is_preset", nullable: true })
  reasonIsPreset: boolean | null;

  @Field(() => ID, { nullable: true, description: "Fallback chains: the request of the hop before this one (null for a chain's first request)." })
  @Column("uuid", { name: "previous_request_id", nullable: true })
  previousRequestId: string | null;

  @Field(() => Int, { description: "Fallback chains: 1 for the sender's own request, 2 for the first hop, and so on." })
  @Column("integer")
  hop: number;

  @Field(() => ID, { nullable: true, description: "DISCUSS requests: the discussion their accept opened." })
  @Column("uuid", { name: "discussion_id", nullable: true })
  discussionId: string | null;

  @Field(() => Date, { nullable: true, description: "DISCUSS requests: when the discussion ended." })
  @Column("timestamptz", { name: "ended_at", nullable: true })
  endedAt: Date | null;

  @Column("uuid", { name: "ended_by_id", nullable: true })
  endedById: string | null;

  @Field(() => String, { nullable: true, description: "DISCUSS requests: why the discussion ended." })
  @Column("text", { name: "end_reason", nullable: true })
  endReason: string | null;

  @Field(() => Int, { nullable: true, description: "DISCUSS requests: messages written in the discussion." })
  @Column("integer", { name: "message_count", nullable: true })
  messageCount: number | null;

  @Field()
  @Column("timestamptz", { name: "created_at" })
  createdAt: Date;

  @Field()
  @Column("timestamptz", { name: "updated_at" })
  updatedAt: Date;
}
