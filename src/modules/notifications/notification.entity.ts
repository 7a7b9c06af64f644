import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";

export enum NotificationType {
  ASSIGNMENT_REQUESTED = "ASSIGNMENT_REQUESTED",
  ASSIGNMENT_ACCEPTED = "ASSIGNMENT_ACCEPTED",
  ASSIGNMENT_REJECTED = "ASSIGNMENT_REJECTED",
  ASSIGNMENT_WITHDRAWN = "ASSIGNMENT_WITHDRAWN",
  ASSIGNMENT_TIMED_OUT = "ASSIGNMENT_TIMED_OUT",
  ASSIGNMENT_CANCELLED = "ASSIGNMENT_CANCELLED",
  /** To the sender: a fallback chain moved on ("Martha did not respond in time; the request went to Lisa."). */
  ASSIGNMENT_FORWARDED = "ASSIGNMENT_FORWARDED",
  /** To the sender: a fallback chain ended with nobody ("Nobody took the chat: Martha, Lisa and Maria did not respond."). */
  ASSIGNMENT_UNCLAIMED = "ASSIGNMENT_UNCLAIMED",
  CHATS_ASSIGNED = "CHATS_ASSIGNED",
  DISCUSSION_REQUESTED = "DISCUSSION_REQUESTED",
  DISCUSSION_ACCEPTED = "DISCUSSION_ACCEPTED",
  DISCUSSION_REJECTED = "DISCUSSION_REJECTED",
  DISCUSSION_WITHDRAWN = "DISCUSSION_WITHDRAWN",
  DISCUSSION_TIMED_OUT = "DISCUSSION_TIMED_OUT",
  DISCUSSION_CANCELLED = "DISCUSSION_CANCELLED",
  DISCUSSION_ENDED = "DISCUSSION_ENDED",
  /** To the organization's admins: Baton disabled a webhook endpoint that kept failing (WEBHOOK_DISABLE_AFTER_HOURS). */
  WEBHOOK_ENDPOINT_DISABLED = "WEBHOOK_ENDPOINT_DISABLED",
}

@Entity("notifications")
export class Notification {
  @PrimaryGeneratedColumn("uuid")
  id: string;

  @Column("uuid", { name: "organization_id" })
  organizationId: string;

  @Column("uuid", { name: "user_id" })
  userId: string;

  @Column("text")
  type: NotificationType;

  @Column("text")
  message: string;

  @Column("uuid", { name: "request_id", nullable: true })
  requestId: string | null;

  @Column("timestamptz", { name: "created_at" })
  createdAt: Date;

  @Column("timestamptz", { name: "read_at", nullable: true })
  readAt: Date | null;
}
