import type { DataSource } from "typeorm";
import { poolSql, type Sql, txSql } from "../../db/sql";
import { SettingsRepository } from "../../repositories/settings.repository";
import { badInput } from "../../errors";
import { requireAccess } from "../../policy/access";
import type { User } from "../users/user.entity";
import { characters } from "../../validation";
import {
  AssignDiscussSettings,
  DEFAULT_TIMEOUT_SECONDS,
  DEFAULT_REPLY_WINDOW_HOURS,
  DEFAULT_MAX_HANDOVERS_PER_CHAT_PER_DAY,
  DEFAULT_PING_PONG_MINUTES,
  MAX_HANDOVERS_PER_CHAT_PER_DAY_LIMIT,
  MAX_PING_PONG_MINUTES,
  MAX_OPEN_CHATS_LIMIT,
  MAX_REPLY_WINDOW_HOURS,
  MAX_TIMEOUT_SECONDS,
  MIN_TIMEOUT_SECONDS,
} from "./assign-discuss-settings.entity";

export interface SettingsPatch {
  assignRequestTimeoutSeconds?: number | null;
  discussRequestTimeoutSeconds?: number | null;
  fallbackOnReject?: boolean | null;
  fallbackToManagers?: boolean | null;
  requireAvailableRecipient?: boolean | null;
  defaultMaxOpenChats?: number | null;
  enforceCapacity?: boolean | null;
  replyWindowHours?: number | null;
  capDeadlineAtReplyWindow?: boolean | null;
  maxHandoversPerChatPerDay?: number | null;
  pingPongMinutes?: number | null;
  timeZone?: string | null;
  rejectReasonPresets?: string[] | null;
  withdrawReasonPresets?: string[] | null;
}

export const DEFAULT_REJECT_PRESETS = ["In a meeting", "Not available", "Handling priority issue"];
export const DEFAULT_WITHDRAW_PRESETS = ["No longer needed", "I resolved it myself"];

function timeoutSeconds(value: number | null | undefined, field: string): number | null {
  if (value === undefined || value === null) return null;
  if (!Number.isInteger(value) || value < MIN_TIMEOUT_SECONDS || value > MAX_TIMEOUT_SECONDS) {
    throw badInput(`${field} must be between ${MIN_TIMEOUT_SECONDS} and ${MAX_TIMEOUT_SECONDS}`, field);
  }
  return value;
}

/** A capacity (a user's or the organization's default): 0..MAX_OPEN_CHATS_LIMIT, 0 meaning no limit. */
export function openChatsLimit(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_OPEN_CHATS_LIMIT) {
    throw badInput(`${field} must be between 0 (no limit) and ${MAX_OPEN_CHATS_LIMIT}`, field);
  }
  return value;
}

function replyWindowHours(value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_REPLY_WINDOW_HOURS) {
    throw badInput(`replyWindowHours must be between 0 (no window) and ${MAX_REPLY_WINDOW_HOURS}`, "replyWindowHours");
  }
  return value;
}

/** A whole number 0..max (0 turns the rule off), or null when not given. */
function zeroTo(value: number | null | undefined, max: number, field: string, zero: string): number | null {
  if (value === undefined || value === null) return null;
  if (!Number.isInteger(value) || value < 0 || value > max) throw badInput(`${field} must be between 0 (${zero}) and ${max}`, field);
  return value;
}

/** An IANA zone name as both Node (Intl) and, checked again by the save, Postgres know it. */
function timeZone(value: string): string {
  const name = value.trim();
  try {
    if (name.length === 0 || name.length > 64) throw new RangeError("length");
    new Intl.DateTimeFormat("en-US", { timeZone: name });
  } catch {
    throw badInput("timeZone must be an IANA time zone, e.g. Europe/Berlin", "timeZone");
  }
  return name;
}

function presets(values: string[], field: string): string[] {
  if (values.length > 20) throw badInput(`${field} takes at most 20 reasons`, field);
  const trimmed = values.map((v) => v.trim());
  if (trimmed.some((v) => characters(v) < 1 || characters(v) > 500)) {
    throw badInput(`each of ${field} must be 1 to 500 characters after trimming`, field);
  }
  return [...new Set(trimmed)];
}

export class SettingsService {
  private readonly repo: SettingsRepository;

  constructor(private readonly dataSource: DataSource) {
    this.repo = new SettingsRepository(poolSql(dataSource));
  }

  /** The organization's settings; defaults when it never saved any. */
  async get(organizationId: string, sql?: Sql, lock = false): Promise<AssignDiscussSettings> {
    const row = await this.repo.find(organizationId, sql, lock);
    return (
      row ??
      Object.assign(new AssignDiscussSettings(), {
        organizationId,
        assignRequestTimeoutSeconds: DEFAULT_TIMEOUT_SECONDS,
        discussRequestTimeoutSeconds: DEFAULT_TIMEOUT_SECONDS,
        fallbackOnReject: false,
        fallbackToManagers: false,
        requireAvailableRecipient: false,
        defaultMaxOpenChats: 0,
        enforceCapacity: false,
        replyWindowHours: DEFAULT_REPLY_WINDOW_HOURS,
        capDeadlineAtReplyWindow: true,
        maxHandoversPerChatPerDay: DEFAULT_MAX_HANDOVERS_PER_CHAT_PER_DAY,
        pingPongMinutes: DEFAULT_PING_PONG_MINUTES,
        timeZone: "UTC",
        rejectReasonPresets: DEFAULT_REJECT_PRESETS,
        withdrawReasonPresets: DEFAULT_WITHDRAW_PRESETS,
        updatedAt: new Date(0),
      })
    );
  }

  /** Admins only. A new timeout applies to requests sent afterwards; pending ones keep their deadline. */
  async update(viewer: User, patch: SettingsPatch): Promise<AssignDiscussSettings> {
    requireAccess(viewer, "settings.manage");
    const timeout = timeoutSeconds(patch.assignRequestTimeoutSeconds, "assignRequestTimeoutSeconds");
    const discussTimeout = timeoutSeconds(patch.discussRequestTimeoutSeconds, "discussRequestTimeoutSeconds");
    const defaultMax = patch.defaultMaxOpenChats == null ? null : openChatsLimit(patch.defaultMaxOpenChats, "defaultMaxOpenChats");
    const windowHours = patch.replyWindowHours == null ? null : replyWindowHours(patch.replyWindowHours);
    const maxHandovers = zeroTo(patch.maxHandoversPerChatPerDay, MAX_HANDOVERS_PER_CHAT_PER_DAY_LIMIT, "maxHandoversPerChatPerDay", "no limit");
    const pingPong = zeroTo(patch.pingPongMinutes, MAX_PING_PONG_MINUTES, "pingPongMinutes", "off");
    const zone = patch.timeZone === undefined || patch.timeZone === null ? null : timeZone(patch.timeZone);
    const reject = patch.rejectReasonPresets ? presets(patch.rejectReasonPresets, "rejectReasonPresets") : null;
    const withdraw = patch.withdrawReasonPresets ? presets(patch.withdrawReasonPresets, "withdrawReasonPresets") : null;

    return this.dataSource.transaction(async (m) => {
      const sql = txSql(m);
      // Locked: two admins' concurrent changes to different fields both land.
      const current = await this.get(viewer.organizationId, sql, true);
      const next = Object.assign(new AssignDiscussSettings(), current, {
        assignRequestTimeoutSeconds: timeout ?? current.assignRequestTimeoutSeconds,
        discussRequestTimeoutSeconds: discussTimeout ?? current.discussRequestTimeoutSeconds,
        fallbackOnReject: patch.fallbackOnReject ?? current.fallbackOnReject,
        fallbackToManagers: patch.fallbackToManagers ?? current.fallbackToManagers,
        requireAvailableRecipient: patch.requireAvailableRecipient ?? current.requireAvailableRecipient,
        defaultMaxOpenChats: defaultMax ?? current.defaultMaxOpenChats,
        enforceCapacity: patch.enforceCapacity ?? current.enforceCapacity,
        replyWindowHours: windowHours ?? current.replyWindowHours,
        capDeadlineAtReplyWindow: patch.capDeadlineAtReplyWindow ?? current.capDeadlineAtReplyWindow,
        maxHandoversPerChatPerDay: maxHandovers ?? current.maxHandoversPerChatPerDay,
        pingPongMinutes: pingPong ?? current.pingPongMinutes,
        timeZone: zone ?? current.timeZone,
        rejectReasonPresets: reject ?? current.rejectReasonPresets,
        withdrawReasonPresets: withdraw ?? current.withdrawReasonPresets,
        updatedAt: new Date(),
      });
      if (!(await this.repo.knowsTimeZone(sql, next.timeZone))) throw badInput("timeZone is not a time zone this database knows", "timeZone");
      await this.repo.save(sql, next);
      return next;
    });
  }
}
