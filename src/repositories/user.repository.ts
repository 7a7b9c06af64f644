import { fromRow } from "../db/hydrate";
import { Conditions, type Sql, type Statement } from "../db/sql";
import { type Availability, User, type UserRole } from "../modules/users/user.entity";

const BY_ID: Statement = { name: "users.byId", text: "SELECT * FROM users WHERE id = $1" };

const UPSERT: Statement = {
  name: "users.upsert",
  text: `INSERT INTO users (organization_id, email, name, role, active, external_id)
         VALUES ($1, $2, $3, $4, $5, NULLIF($7, ''))
         ON CONFLICT (organization_id, lower(email))
         DO UPDATE SET name = EXCLUDED.name, role = EXCLUDED.role,
                       active = COALESCE($6, users.active),
                       external_id = CASE WHEN $7 IS NULL THEN users.external_id ELSE NULLIF($7, '') END,
                       updated_at = now()
         RETURNING *`,
};

const SET_AVAILABILITY: Statement = {
  name: "users.setAvailability",
  text: "UPDATE users SET availability = $3, updated_at = now() WHERE id = $1 AND organization_id = $2 RETURNING *",
};

const SET_MAX_OPEN_CHATS: Statement = {
  name: "users.setMaxOpenChats",
  text: "UPDATE users SET max_open_chats = $3, updated_at = now() WHERE id = $1 AND organization_id = $2 RETURNING *",
};

/** Each user's open chats (owned, OPEN), in the order asked; another organization's users count 0. */
const OPEN_CHAT_COUNTS: Statement = {
  name: "users.openChatCounts",
  text: `SELECT k.id, (SELECT count(*)::int FROM chat_sessions c WHERE c.owner_id = k.id AND c.status = 'OPEN' AND c.organization_id = $1) AS n
           FROM unnest($2::uuid[]) WITH ORDINALITY AS k(id, ord) ORDER BY k.ord`,
};

const ACTIVE_BY_EMAIL: Statement = { name: "users.activeByEmail", text: "SELECT * FROM users WHERE lower(email) = lower($1) AND active" };

const DEMO_USERS: Statement = {
  name: "users.demo",
  text: `SELECT u.* FROM users u JOIN organizations o ON o.id = u.organization_id
          WHERE o.name = 'Demo Org' AND u.active ORDER BY u.role, u.name`,
};

export class UserRepository {
  constructor(private readonly db: Sql) {}

  async findById(id: string, sql: Sql = this.db): Promise<User | null> {
    const [row] = await sql.rows<Record<string, unknown>>(BY_ID, [id]);
    return row ? fromRow(User, row) : null;
  }

  /** Active users of an organization by name, at most 500, optionally of a role and matching a search term. */
  async listActive(organizationId: string, role: UserRole | null, search: string | null, availableOnly = false): Promise<User[]> {
    const where = new Conditions().and("t.organization_id = ?", organizationId).and("t.active");
    if (role) where.and("t.role = ?", role);
    if (availableOnly) where.and("t.availability <> 'AWAY'");
    if (search) {
      const like = `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      where.and("(t.name ILIKE ? OR t.email ILIKE ?)", like, like);
    }
    const rows = await this.db.rows<Record<string, unknown>>(`SELECT t.* FROM users t WHERE ${where.sql} ORDER BY lower(t.name), t.id LIMIT 500`, where.params);
    return rows.map((row) => fromRow(User, row));
  }

  /**
   * Creates or updates the organization's user with this email; `active` and `externalId` null keep
   * them as they are ("" clears the external id). Another user's external id: a unique violation.
   */
  async upsert(
    sql: Sql,
    organizationId: string,
    u: { email: string; name: string; role: UserRole; active: boolean | null; externalId: string | null },
  ): Promise<User> {
    const [row] = await sql.rows<Record<string, unknown>>(UPSERT, [organizationId, u.email, u.name, u.role, u.active ?? true, u.active, u.externalId]);
    return fromRow(User, row ?? {});
  }

  /** Sets a user's availability (in the caller's transaction); null when no such user in the organization. */
  async setAvailability(sql: Sql, organizationId: string, userId: string, availability: Availability): Promise<User | null> {
    const [row] = await sql.rows<Record<string, unknown>>(SET_AVAILABILITY, [userId, organizationId, availability]);
    return row ? fromRow(User, row) : null;
  }

  /** Sets a user's capacity (null: the organization's default); null when no such user in the organization. */
  async setMaxOpenChats(organizationId: string, userId: string, maxOpenChats: number | null): Promise<User | null> {
    const [row] = await this.db.rows<Record<string, unknown>>(SET_MAX_OPEN_CHATS, [userId, organizationId, maxOpenChats]);
    return row ? fromRow(User, row) : null;
  }

  /** How many open chats each user holds, in the order of `ids`. */
  async openChatCounts(organizationId: string, ids: readonly string[]): Promise<number[]> {
    return (await this.db.rows<{ n: number }>(OPEN_CHAT_COUNTS, [organizationId, ids])).map((r) => r.n);
  }

  /** Active users with this email, in any organization (the CLI's `token --email`). */
  async activeByEmail(email: string): Promise<User[]> {
    return (await this.db.rows<Record<string, unknown>>(ACTIVE_BY_EMAIL, [email])).map((row) => fromRow(User, row));
  }

  /** The embedded demo's users, for the tokens printed at start. */
  async demoUsers(): Promise<User[]> {
    return (await this.db.rows<Record<string, unknown>>(DEMO_USERS)).map((row) => fromRow(User, row));
  }
}
