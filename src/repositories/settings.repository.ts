import { fromRow } from "../db/hydrate";
import type { Sql, Statement } from "../db/sql";
import { AssignDiscussSettings } from "../modules/settings/assign-discuss-settings.entity";

const GET: Statement = { name: "settings.get", text: "SELECT * FROM assign_discuss_settings WHERE organization_id = $1" };
const LOCK: Statement = { name: "settings.lock", text: "SELECT * FROM assign_discuss_settings WHERE organization_id = $1 FOR UPDATE" };
const SAVE: Statement = {
  name: "settings.save",
  text: `INSERT INTO assign_discuss_settings
           (organization_id, assign_request_timeout_seconds, reject_reason_presets, withdraw_reason_presets, updated_at, discuss_request_timeout_seconds,
            fallback_on_reject, fallback_to_managers, require_available_recipient, time_zone, default_max_open_chats,
            reply_window_hours, cap_deadline_at_reply_window, enforce_capacity,
            max_handovers_per_chat_per_day, ping_pong_minutes)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
         ON CONFLICT (organization_id) DO UPDATE
            SET assign_request_timeout_seconds = EXCLUDED.assign_request_timeout_seconds,
                fallback_on_reject = EXCLUDED.fallback_on_reject,
                fallback_to_managers = EXCLUDED.fallback_to_managers,
                require_available_recipient = EXCLUDED.require_available_recipient,
                time_zone = EXCLUDED.time_zone,
                default_max_open_chats = EXCLUDED.default_max_open_chats,
                reply_window_hours = EXCLUDED.reply_window_hours,
                cap_deadline_at_reply_window = EXCLUDED.cap_deadline_at_reply_window,
                enforce_capacity = EXCLUDED.enforce_capacity,
                max_handovers_per_chat_per_day = EXCLUDED.max_handovers_per_chat_per_day,
                ping_pong_minutes = EXCLUDED.ping_pong_minutes,
                discuss_request_timeout_seconds = EXCLUDED.discuss_request_timeout_seconds,
                reject_reason_presets = EXCLUDED.reject_reason_presets,
                withdraw_reason_presets = EXCLUDED.withdraw_reason_presets,
                updated_at = EXCLUDED.updated_at`,
};

const KNOWS_ZONE: Statement = { name: "settings.knowsZone", text: "SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1) AS known" };

export class SettingsRepository {
  constructor(private readonly db: Sql) {}

  /** The organization's saved settings; with `lock`, locked in the caller's transaction. */
  async find(organizationId: string, sql: Sql = this.db, lock = false): Promise<AssignDiscussSettings | null> {
    const [row] = await sql.rows<Record<string, unknown>>(lock ? LOCK : GET, [organizationId]);
    return row ? fromRow(AssignDiscussSettings, row) : null;
  }

  /** Whether Postgres's time zone database has this zone (the views convert with it). */
  async knowsTimeZone(sql: Sql, zone: string): Promise<boolean> {
    const [row] = await sql.rows<{ known: boolean }>(KNOWS_ZONE, [zone]);
    return row?.known ?? false;
  }

  async save(sql: Sql, s: AssignDiscussSettings): Promise<void> {
    await sql.rows(SAVE, [s.organizationId, s.assignRequestTimeoutSeconds, s.rejectReasonPresets, s.withdrawReasonPresets, s.updatedAt, s.discussRequestTimeoutSeconds,
      s.fallbackOnReject, s.fallbackToManagers, s.requireAvailableRecipient, s.timeZone, s.defaultMaxOpenChats,
      s.replyWindowHours, s.capDeadlineAtReplyWindow, s.enforceCapacity,
      s.maxHandoversPerChatPerDay, s.pingPongMinutes]);
  }
}
