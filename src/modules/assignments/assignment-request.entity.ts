import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";

export enum RecipientType {
  USER = "USER",
  MANAGER = "MANAGER",
}

export enum RequestStatus {
  PENDING = "PENDING",
  ACCEPTED = "ACCEPTED",
  REJECTED = "REJECTED",
  WITHDRAWN = "WITHDRAWN",
  TIMED_OUT = "TIMED_OUT",
  CANCELLED = "CANCELLED",
}

export enum RequestKind {
  ASSIGN = "ASSIGN",
  DISCUSS = "DISCUSS",
}

@Entity("assignment_requests")
export class AssignmentRequest {
  @PrimaryGeneratedColumn("uuid")
  id: string;

  @Column("text")
  kind: RequestKind;

  @Column("uuid", { name: "organization_id" })
  organizationId: string;

  @Column("uuid", { name: "chat_session_id" })
  chatSessionId: string;

  @Column("uuid", { name: "sender_id" })
  senderId: string;

  @Column("uuid", { name: "recipient_id" })
  recipientId: string;

  @Column("text", { name: "recipient_type" })
  recipientType: RecipientType;

  @Column("text")
  status: RequestStatus;

  @Column("text", { nullable: true })
  note: string | null;

  @Column("text", { nullable: true })
  reason: string | null;

  @Column("integer", { name: "timeout_seconds" })
  timeoutSeconds: number;

  @Column("timestamptz", { name: "created_at" })
  createdAt: Date;

  @Column("timestamptz", { name: "expires_at" })
  expiresAt: Date;

  @Column("timestamptz", { name: "responded_at", nullable: true })
  respondedAt: Date | null;

  @Column("uuid", { name: "responded_by_id", nullable: true })
  respondedById: string | null;

  /** A fallback chain's recipients still to try after this one, in order (ASSIGN only; 0..5). */
  @Column("uuid", { name: "fallback_recipient_ids", array: true })
  fallbackRecipientIds: string[];

  /** The hop before this one in its chain; null for the sender's own request. */
  @Column("uuid", { name: "previous_request_id", nullable: true })
  previousRequestId: string | null;

  /** The chain's first request, on every later hop; null on the first. */
  @Column("uuid", { name: "chain_id", nullable: true })
  chainId: string | null;

  @Column("integer")
  hop: number;

  @Column("boolean", { name: "last_resort" })
  lastResort: boolean;

  /** The chat's reply window's end as it stood when the request was sent (issue #24). */
  @Column("timestamptz", { name: "reply_window_ends_at", nullable: true })
  replyWindowEndsAt: Date | null;
}
