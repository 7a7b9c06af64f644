import { Column, Entity, PrimaryColumn } from "typeorm";

export const DEFAULT_TIMEOUT_SECONDS = 120;
export const MIN_TIMEOUT_SECONDS = 5;
export const MAX_TIMEOUT_SECONDS = 86_400;
/** The largest capacity a user or the organization's default may be set to. */
export const MAX_OPEN_CHATS_LIMIT = 10_000;

@Entity("assign_discuss_settings")
export class AssignDiscussSettings {
  @PrimaryColumn("uuid", { name: "organization_id" })
  organizationId: string;

  @Column("integer", { name: "assign_request_timeout_seconds" })
  assignRequestTimeoutSeconds: number;

  @Column("integer", { name: "discuss_request_timeout_seconds" })
  discussRequestTimeoutSeconds: number;

  @Column("text", { name: "reject_reason_presets", array: true })
  rejectReasonPresets: string[];

  @Column("text", { name: "withdraw_reason_presets", array: true })
  withdrawReasonPresets: string[];

  @Column("boolean", { name: "fallback_on_reject" })
  fallbackOnReject: boolean;

  @Column("boolean", { name: "fallback_to_managers" })
  fallbackToManagers: boolean;

  @Column("boolean", { name: "require_available_recipient" })
  requireAvailableRecipient: boolean;

  /** The open chats a user may hold unless their own limit says otherwise (issue #24); 0: no limit. */
  @Column("integer", { name: "default_max_open_chats" })
  defaultMaxOpenChats: number;

  @Column("text", { name: "time_zone" })
  timeZone: string;

  @Column("timestamptz", { name: "updated_at" })
  updatedAt: Date;
}
