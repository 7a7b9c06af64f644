import type { Sql, Statement } from "../db/sql";
import { DEFAULT_MAX_HANDOVERS_PER_CHAT_PER_DAY, DEFAULT_PING_PONG_MINUTES } from "../modules/settings/assign-discuss-settings.entity";

/**
 * The loop rule's facts (issue #24; the rule is src/engine/rules.ts `loopProblem`): a chat's moves,
 * an accepted handover or a direct move, each at the time the chat moved. These fragments are the
 * only place the SQL says what a move is; the index `etr_chat_moves_idx`
 * (migrations/1764290000000-HandoverLoops.ts) is on exactly this predicate and time.
 */
const MOVE = (m: string) => `((${m}.kind = 'ASSIGN_REQUEST' AND ${m}.status = 'ACCEPTED') OR ${m}.kind = 'DIRECT_ASSIGN')`;
const MOVED_AT = (m: string) => `coalesce(${m}.responded_at, ${m}.requested_at)`;

/** The organization's loop settings as SQL, for a settings row `s` that may be absent (the defaults). */
export const pingPongMinutesOf = (s: string) => `coalesce(${s}.ping_pong_minutes, ${DEFAULT_PING_PONG_MINUTES})`;
export const maxPerDayOf = (s: string) => `coalesce(${s}.max_handovers_per_chat_per_day, ${DEFAULT_MAX_HANDOVERS_PER_CHAT_PER_DAY})`;

/**
 * A chat's moves (SQL `chat`, an id) as the columns `last_id`, `last_request_id`, `last_from`,
 * `last_to`, `last_at` (its last move; nulls when it never moved) and `in_day` (its moves in the
 * 24 h before `now`, counted up to `cap`: the count stops where the limit is reached). A select
 * list with its FROM, for a LATERAL join or a CTE.
 */
export function chatMovesSelect(chat: string, now: string, cap: string): string {
  // One index scan, newest move first: the first row is the last move, and the moves of the last
  // 24 h are a prefix of the rows (at most `cap` of them are read; one when the limit is off).
  return `SELECT (array_agg(r.id ORDER BY r.at DESC))[1] AS last_id, (array_agg(r.request_id ORDER BY r.at DESC))[1] AS last_request_id,
                 (array_agg(r.from_user_id ORDER BY r.at DESC))[1] AS last_from, (array_agg(r.to_user_id ORDER BY r.at DESC))[1] AS last_to,
                 max(r.at) AS last_at, count(*) FILTER (WHERE r.at > ${now}::timestamptz - interval '24 hours')::int AS in_day
            FROM (SELECT m.id, m.request_id, m.from_user_id, m.to_user_id, ${MOVED_AT("m")} AS at
                    FROM engagement_tracking_records m
                   WHERE m.chat_session_id = ${chat} AND ${MOVE("m")}
                   ORDER BY ${MOVED_AT("m")} DESC LIMIT greatest(${cap}, 1)) r`;
}

/**
 * The ping-pong half of the loop rule as SQL (rules.ts `pingPongTo`): true when handing the chat
 * (owned by `owner`, with its moves as `f`, from chatMovesSelect) to `recipient` at `now` would
 * send it straight back to who handed it to its owner within `minutes`.
 */
export function pingPongSql(f: string, owner: string, recipient: string, now: string, minutes: string): string {
  return `coalesce(${minutes} > 0 AND ${f}.last_to = ${owner} AND ${f}.last_from = ${recipient}
             AND ${f}.last_at > ${now}::timestamptz - make_interval(mins => ${minutes}), false)`;
}

/**
 * The loop rule as SQL (rules.ts `loopProblem`): the code it refuses with (the limit first), or
 * NULL when the handover is allowed. The guard of a write is `rule IS NULL` (or an override, which
 * records the rule).
 */
export function loopRuleSql(p: { f: string; owner: string; recipient: string; now: string; minutes: string; maxPerDay: string }): string {
  return `CASE WHEN ${p.maxPerDay} > 0 AND ${p.f}.in_day >= ${p.maxPerDay} THEN 'HANDOVER_LIMIT_REACHED'
               WHEN ${pingPongSql(p.f, p.owner, p.recipient, p.now, p.minutes)} THEN 'HANDOVER_LOOP' END`;
}

/** One chat's moves as read (rules.ts ChatMoves). */
export interface ChatMovesRow {
  last: { recordId: string; requestId: string | null; fromUserId: string; toUserId: string; at: Date } | null;
  inDay: number;
}

export interface MovesColumns {
  last_id: string | null;
  last_request_id: string | null;
  last_from: string | null;
  last_to: string | null;
  last_at: Date | null;
  in_day: number;
}

export const toMoves = (r: MovesColumns): ChatMovesRow => ({
  last: r.last_id ? { recordId: r.last_id, requestId: r.last_request_id, fromUserId: r.last_from!, toUserId: r.last_to!, at: new Date(r.last_at!) } : null,
  inDay: r.in_day,
});

const MOVES_OF_CHATS: Statement = {
  name: "moves.ofChats",
  text: `SELECT c.id AS chat_id, mv.* FROM unnest($1::uuid[]) AS c(id) CROSS JOIN LATERAL (${chatMovesSelect("c.id", "$2", "$3")}) mv`,
};

export class MovesRepository {
  constructor(private readonly db: Sql) {}

  /** The moves of these chats at `now` (the 24 h count up to `cap`), by chat id. */
  async ofChats(chatIds: readonly string[], now: Date, cap: number, sql: Sql = this.db): Promise<Map<string, ChatMovesRow>> {
    if (chatIds.length === 0) return new Map();
    const rows = await sql.rows<MovesColumns & { chat_id: string }>(MOVES_OF_CHATS, [chatIds, now, cap]);
    return new Map(rows.map((r) => [r.chat_id, toMoves(r)]));
  }
}
