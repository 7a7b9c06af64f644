import { Column, Entity, PrimaryColumn } from "typeorm";

export const DEFAULT_TIMEOUT_SECONDS = 120;
export const MIN_TIMEOUT_SECONDS = 5;
export const MAX_TIMEOUT_SECONDS = 86_400;
/** The largest capacity a user or the organization's default may be set to. */
export const MAX_OPEN_CHATS_LIMIT = 10_000;
/** The reply window's length by default (WhatsApp's), and the longest one may set. */
export const DEFAULT_REPLY_WINDOW_HOURS = 24;
export const MAX_REPLY_WINDOW_HOURS = 168;
/** Loops (issue #24): the defaults, and the largest values one may set. */
export const DEFAULT_MAX_HANDOVERS_PER_CHAT_PER_DAY = 10;
export const DEFAULT_PING_PONG_MINUTES = 30;
export const MAX_HANDOVERS_PER_CHAT_PER_DAY_LIMIT = 1_000;
export const MAX_PING_PONG_MINUTES = 1_440;

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

  /** Nobody is handed a chat beyond their capacity (RECIPIENT_AT_CAPACITY); off, capacity only ranks suggestions. */
  @Column("boolean", { name: "enforce_capacity" })
  enforceCapacity: boolean;

  /** WhatsApp's reply window (issue #24): free text only this long after the customer's last message; 0: the channel has none. */
  @Column("integer", { name: "reply_window_hours" })
  replyWindowHours: number;

  /** A request's deadline is at the latest the window's end (never under 5 s) while the window is open. */
  @Column("boolean", { name: "cap_deadline_at_reply_window" })
  capDeadlineAtReplyWindow: boolean;

  /** More accepted or direct moves of one chat in 24 h than this is HANDOVER_LIMIT_REACHED (issue #24); 0: no limit. */
  @Column("integer", { name: "max_handovers_per_chat_per_day" })
  maxHandoversPerChatPerDay: number;

  /** A chat sent back to who handed it to its owner within this many minutes is HANDOVER_LOOP; 0: off. */
  @Column("integer", { name: "ping_pong_minutes" })
  pingPongMinutes: number;

  @Column("text", { name: "time_zone" })
  timeZone: string;

  @Column("timestamptz", { name: "updated_at" })
  updatedAt: Date;
}
