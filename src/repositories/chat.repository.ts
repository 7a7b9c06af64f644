import { newestFirst } from "../db/keyset";
import { fromRow } from "../db/hydrate";
import { Conditions, type Sql, type Statement } from "../db/sql";
import type { Page, PageArgs } from "../kernel/page";
import { ChatSession, ChatStatus } from "../modules/chat-sessions/chat-session.entity";

const BY_ID: Statement = { name: "chats.byId", text: "SELECT * FROM chat_sessions WHERE id = $1 AND organization_id = $2" };
const LOCK: Statement = { name: "chats.lock", text: "SELECT * FROM chat_sessions WHERE id = $1 AND organization_id = $2 FOR NO KEY UPDATE" };
const CLOSE: Statement = {
  name: "chats.close",
  text: `UPDATE chat_sessions SET status = '${ChatStatus.CLOSED}', updated_at = $2 WHERE id = $1 RETURNING *`,
};
/**
 * Keeps the latest customer message's time (an older one changes nothing), for a batch of
 * messages at once: one time per chat (the latest of the batch), the chats locked in id order
 * (the order every writer of several chats locks in: two batches never deadlock), each only in
 * its organization.
 */
const RECORD_MESSAGES: Statement = {
  name: "chats.recordCustomerMessages",
  text: `WITH x AS (SELECT m.id, m.org, max(m.at) AS at FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) AS m(id, org, at) GROUP BY m.id, m.org),
              locked AS (SELECT c.id FROM chat_sessions c JOIN x ON x.id = c.id AND x.org = c.organization_id ORDER BY c.id FOR NO KEY UPDATE OF c)
         UPDATE chat_sessions c SET last_customer_message_at = greatest(c.last_customer_message_at, x.at), updated_at = now()
           FROM x WHERE c.id = x.id AND c.organization_id = x.org AND c.id IN (SELECT id FROM locked)
         RETURNING c.*`,
};
const INSERT: Statement = {
  name: "chats.insert",
  text: `INSERT INTO chat_sessions (organization_id, customer_name, customer_phone, channel, status, owner_id, last_customer_message_at)
         VALUES ($1, $2, $3, $4, '${ChatStatus.OPEN}', $5, $6) RETURNING *`,
};
const BY_IDS: Statement = { name: "chats.byIds", text: "SELECT * FROM chat_sessions WHERE id = ANY($1::uuid[]) AND organization_id = $2" };
const LOCK_MANY: Statement = {
  name: "chats.lockMany",
  text: "SELECT * FROM chat_sessions WHERE id = ANY($1::uuid[]) AND organization_id = $2 ORDER BY id FOR NO KEY UPDATE",
};
const MOVE_MANY: Statement = {
  name: "chats.moveMany",
  text: "UPDATE chat_sessions SET owner_id = $2, updated_at = $3 WHERE id = ANY($1::uuid[]) RETURNING *",
};

const toChat = (row: Record<string, unknown>): ChatSession => fromRow(ChatSession, row);

/** The order "latest customer message first": chats never written to count as written at the epoch (last). */
export const CHAT_LATEST_MESSAGE = { expression: "coalesce(t.last_customer_message_at, '1970-01-01 00:00:00+00'::timestamptz)" };

export class ChatRepository {
  constructor(private readonly db: Sql) {}

  async findById(organizationId: string, id: string): Promise<ChatSession | null> {
    const [row] = await this.db.rows<Record<string, unknown>>(BY_ID, [id, organizationId]);
    return row ? toChat(row) : null;
  }

  /** These chats of the organization as they are now (the others are not found), in no particular order. */
  async byIds(organizationId: string, ids: string[]): Promise<ChatSession[]> {
    if (ids.length === 0) return [];
    return (await this.db.rows<Record<string, unknown>>(BY_IDS, [ids, organizationId])).map(toChat);
  }

  /**
   * A page of the organization's chats. `search`: part of the customer's name (any case; % and _
   * match themselves) or, when it has three digits or more, of their phone number's digits.
   * `latestCustomerMessage`: the chats whose customer wrote last first, those never written to
   * after them (ordered by CHAT_LATEST_MESSAGE, indexed); else newest first.
   */
  list(
    organizationId: string,
    f: { ownerId: string | null; status: ChatStatus | null; search?: string | null },
    page: PageArgs,
    order: "newest" | "latestCustomerMessage" = "newest",
  ): Promise<Page<ChatSession>> {
    const where = new Conditions().and("t.organization_id = ?", organizationId);
    if (f.ownerId) where.and("t.owner_id = ?", f.ownerId);
    if (f.status) where.and("t.status = ?", f.status);
    if (f.search) {
      const pattern = `%${f.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const digits = f.search.replace(/\D/g, "");
      if (digits.length >= 3) where.and("(t.customer_name ILIKE ? OR t.customer_phone LIKE ?)", pattern, `%${digits}%`);
      else where.and("t.customer_name ILIKE ?", pattern);
    }
    if (order === "latestCustomerMessage") return newestFirst(this.db, ChatSession, "chat_sessions", where, page, CHAT_LATEST_MESSAGE);
    return newestFirst(this.db, ChatSession, "chat_sessions", where, page);
  }

  async insert(c: Pick<ChatSession, "organizationId" | "customerName" | "customerPhone" | "channel" | "ownerId" | "lastCustomerMessageAt">): Promise<ChatSession> {
    const [row] = await this.db.rows<Record<string, unknown>>(INSERT, [
      c.organizationId,
      c.customerName,
      c.customerPhone,
      c.channel,
      c.ownerId,
      c.lastCustomerMessageAt,
    ]);
    return toChat(row ?? {});
  }

  /** The chat, locked in the caller's transaction (lock order everywhere: chat, then request). */
  async lock(sql: Sql, organizationId: string, id: string): Promise<ChatSession | null> {
    const [row] = await sql.rows<Record<string, unknown>>(LOCK, [id, organizationId]);
    return row ? toChat(row) : null;
  }

  /** Records customer messages' times on their chats, in one statement; returns the chats it found (another organization's are not). */
  async recordCustomerMessages(messages: ReadonlyArray<{ organizationId: string; id: string; at: Date }>): Promise<ChatSession[]> {
    const rows = await this.db.rows<Record<string, unknown>>(RECORD_MESSAGES, [
      messages.map((m) => m.id),
      messages.map((m) => m.organizationId),
      messages.map((m) => m.at),
    ]);
    return rows.map(toChat);
  }

  async close(sql: Sql, id: string, now: Date): Promise<ChatSession> {
    const [row] = await sql.rows<Record<string, unknown>>(CLOSE, [id, now]);
    return toChat(row ?? {});
  }

  /** These chats of the organization, locked in id order (the order every batch locks in). */
  async lockMany(sql: Sql, organizationId: string, ids: string[]): Promise<ChatSession[]> {
    return (await sql.rows<Record<string, unknown>>(LOCK_MANY, [ids, organizationId])).map(toChat);
  }

  /** Gives these chats to one owner; returns them as changed. */
  async moveMany(sql: Sql, ids: string[], ownerId: string, now: Date): Promise<ChatSession[]> {
    return (await sql.rows<Record<string, unknown>>(MOVE_MANY, [ids, ownerId, now])).map(toChat);
  }
}
