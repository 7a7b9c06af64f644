import { Column, Entity, PrimaryColumn } from "typeorm";
import type { AssignmentEventType } from "../assignments/assignment-event.entity";

/** Where an organization wants its handover events pushed (issue #22). */
@Entity("webhook_endpoints")
export class WebhookEndpoint {
  @PrimaryColumn("uuid")
  id: string;

  @Column("uuid", { name: "organization_id" })
  organizationId: string;

  @Column("text")
  url: string;

  /** Empty: every type. */
  @Column("text", { name: "event_types", array: true })
  eventTypes: AssignmentEventType[];

  @Column("boolean")
  enabled: boolean;

  @Column("text", { name: "disabled_reason", nullable: true })
  disabledReason: string | null;

  /** The Standard Webhooks secret as stored: plain ("whsec_...") or sealed (see kernel/secret-box.ts). */
  @Column("text")
  secret: string;

  /** After a rotation: the previous secret, which also signs until `previousSecretUntil`. */
  @Column("text", { name: "previous_secret", nullable: true })
  previousSecret: string | null;

  @Column("timestamptz", { name: "previous_secret_until", nullable: true })
  previousSecretUntil: Date | null;

  /** Its first failed attempt since its last success (null: not failing); disabled after WEBHOOK_DISABLE_AFTER_HOURS. */
  @Column("timestamptz", { name: "failing_since", nullable: true })
  failingSince: Date | null;

  @Column("timestamptz", { name: "created_at" })
  createdAt: Date;

  @Column("timestamptz", { name: "updated_at" })
  updatedAt: Date;
}
