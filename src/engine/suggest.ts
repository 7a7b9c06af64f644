import { Availability } from "../modules/users/user.entity";
import type { ReplyWindow } from "./reply-window";

/**
 * Who should take a chat (issue #24). Who may is the receiving rule's (rules.ts receivingGuard,
 * applied by the query as the statement opening a request applies it); how they rank is the
 * documented score below, computed by the query (src/repositories/suggestion.repository.ts
 * RANKED) with these weights; what the reasons say is composed here from the facts it read.
 */

/** What the reasons are made of, for one person, as read when asked. */
export interface SuggestionFacts {
  online: boolean;
  availability: Availability;
  /** The capacity that applies (their own, else the organization's default; 0: no limit). */
  limit: number;
  /** Chats they own that are OPEN. */
  openChats: number;
  /** Requests of any kind waiting for their answer. */
  pendingIncoming: number;
  /** This sender's requests of this kind to them over SUGGESTION_HISTORY_DAYS: accepted, and answered or timed out. */
  accepted: number;
  decided: number;
  /** Median seconds they took to accept those requests (null: none accepted). */
  medianSecondsToAccept: number | null;
}

export interface Suggestion {
  id: string;
  score: number;
  reasons: string[];
}

/** The sender's history with a person that ranking weighs. */
export const SUGGESTION_HISTORY_DAYS = 30;
/** At most this many suggestions per call. */
export const MAX_SUGGESTIONS = 50;

/**
 * The weights, heaviest first; they sum to 1, so a score is in [0, 1].
 * - online: 1 with a socket open, else 0
 * - availability: AVAILABLE 1, BUSY 0.5, AWAY 0
 * - room: with a limit L (own, else the organization's default), (L - open) / L, at least 0;
 *   without one, 10 / (10 + open)
 * - queue: 1 / (1 + requests waiting for them)
 * - acceptance: (accepted + 1) / (decided + 2), this sender's requests over 30 days (nobody
 *   with no history is 0 or 1: it starts at 0.5)
 * - speed: 60 / (60 + median seconds to accept), 0.5 with no accepted request
 * Rounded to 4 decimals; ties by name, then id.
 */
export const SUGGESTION_WEIGHTS = { online: 0.4, availability: 0.2, room: 0.15, queue: 0.1, acceptance: 0.1, speed: 0.05 } as const;

/** The weights in the order the ranking query takes them. */
export const SUGGESTION_WEIGHT_LIST: readonly number[] = [
  SUGGESTION_WEIGHTS.online,
  SUGGESTION_WEIGHTS.availability,
  SUGGESTION_WEIGHTS.room,
  SUGGESTION_WEIGHTS.queue,
  SUGGESTION_WEIGHTS.acceptance,
  SUGGESTION_WEIGHTS.speed,
];

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

function duration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

/** A reply window closing within this many minutes puts people online and AVAILABLE first, whatever their score. */
export const URGENT_WINDOW_MINUTES = 30;

/** Whole minutes (at least 1) until an open window closes, when that is within URGENT_WINDOW_MINUTES; else null. */
export function urgentWindow(w: ReplyWindow, now: Date): number | null {
  if (!w.endsAt || !w.open) return null;
  const ms = w.endsAt.getTime() - now.getTime();
  return ms <= URGENT_WINDOW_MINUTES * 60_000 ? Math.max(1, Math.floor(ms / 60_000)) : null;
}

/**
 * The reasons, in words, in the order of the weights; with the window closing in `closesIn`
 * minutes, those put first because they can answer now say so first.
 */
export function reasonsOf(f: SuggestionFacts, closesIn: number | null = null): string[] {
  const reasons = [f.online ? "online" : "offline", f.availability.toLowerCase()];
  if (closesIn !== null && f.online && f.availability === Availability.AVAILABLE) reasons.unshift(`first: the reply window closes in ${closesIn} min`);
  if (f.limit > 0) reasons.push(`${f.openChats} of ${f.limit} open chats${f.openChats >= f.limit ? " (full)" : ""}`);
  else reasons.push(plural(f.openChats, "open chat", "open chats"));
  reasons.push(f.pendingIncoming === 0 ? "no requests waiting" : `${plural(f.pendingIncoming, "request", "requests")} waiting`);
  if (f.decided > 0) reasons.push(`accepted ${f.accepted} of your last ${f.decided}`);
  if (f.medianSecondsToAccept !== null) reasons.push(`usually accepts in ${duration(f.medianSecondsToAccept)}`);
  return reasons;
}
