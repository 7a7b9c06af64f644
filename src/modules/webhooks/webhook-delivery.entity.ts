import { Column, Entity, PrimaryColumn } from "typeorm";
import type { AssignmentEventType } from "../assignments/assignment-event.entity";

export enum WebhookDeliveryStatus {
  PENDING = "PENDING",
  DELIVERED = "DELIVERED",
  FAILED = "FAILED",
}

/** One event to one endpoint; its id is the message's `webhook-id`, the same for every attempt. */
@Entity("webhook_deliveries")
export class WebhookDelivery {
  @PrimaryColumn("uuid")
  id: string;

  @Column("uuid", { name: "organization_id" })
  organizationId: string;

  @Column("uuid", { name: "endpoint_id" })
  endpointId: string;

  @Column("bigint", { name: "event_sequence" })
  eventSequence: string;

  @Column("text", { name: "event_type" })
  eventType: AssignmentEventType;

  @Column("uuid", { name: "chat_session_id" })
  chatSessionId: string;

  @Column("text")
  status: WebhookDeliveryStatus;

  /** Attempts begun (a crash during one counts it). */
  @Column("integer")
  attempts: number;

  @Column("timestamptz", { name: "next_attempt_at", nullable: true })
  nextAttemptAt: Date | null;

  @Column("timestamptz", { name: "lease_until", nullable: true })
  leaseUntil: Date | null;

  @Column("integer", { name: "last_response_status", nullable: true })
  lastResponseStatus: number | null;

  /** Why the last attempt failed, at most 1 kB (a response body is cut there). */
  @Column("text", { name: "last_error", nullable: true })
  lastError: string | null;

  @Column("timestamptz", { name: "created_at" })
  createdAt: Date;

  @Column("timestamptz", { name: "delivered_at", nullable: true })
  deliveredAt: Date | null;
}
