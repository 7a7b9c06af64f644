import { fromRow } from "../db/hydrate";
import type { Sql, Statement } from "../db/sql";
import type { ChatSession } from "../modules/chat-sessions/chat-session.entity";
import { User, type UserRole } from "../modules/users/user.entity";

const LOCK_EMAIL: Statement = { name: "orgs.lockEmail", text: "SELECT pg_advisory_xact_lock(hashtextextended('baton:admin-email:' || $1, 0))" };
const EMAIL_TAKEN: Statement = { name: "orgs.emailTaken", text: "SELECT organization_id FROM users WHERE lower(email) = $1 LIMIT 1" };
const CREATE: Statement = {
  name: "orgs.create",
  text: `WITH org AS (INSERT INTO organizations (name) VALUES ($1) RETURNING id),
              settings AS (INSERT INTO assign_discuss_settings (organization_id) SELECT id FROM org)
         INSERT INTO users (organization_id, email, name, role) SELECT id, $2, $3, 'ADMIN' FROM org
         RETURNING organization_id, id`,
};
const IS_EMPTY: Statement = { name: "orgs.isEmpty", text: "SELECT NOT EXISTS (SELECT 1 FROM organizations) AS empty" };

export class OrganizationRepository {
  constructor(private readonly db: Sql) {}

  /** Serializes the creation of organizations whose admin has this email (in the caller's transaction). */
  async lockAdminEmail(sql: Sql, email: string): Promise<void> {
    await sql.rows(LOCK_EMAIL, [email]);
  }

  /** The organization of a user with this email, if any. */
  async organizationWithEmail(sql: Sql, email: string): Promise<string | null> {
    const [row] = await sql.rows<{ organization_id: string }>(EMAIL_TAKEN, [email]);
    return row?.organization_id ?? null;
  }

  /** An organization, its default settings and its first admin, in one statement. */
  async create(sql: Sql, name: string, adminEmail: string, adminName: string): Promise<{ organizationId: string; adminUserId: string }> {
    const [row] = await sql.rows<{ organization_id: string; id: string }>(CREATE, [name, adminEmail, adminName]);
    return { organizationId: row?.organization_id ?? "", adminUserId: row?.id ?? "" };
  }

  async isEmpty(): Promise<boolean> {
    const [row] = await this.db.rows<{ empty: boolean }>(IS_EMPTY);
    return row?.empty ?? true;
  }

  /** Users for the demo, returned in the order given. */
  async insertUsers(sql: Sql, organizationId: string, people: Array<{ email: string; name: string; role: UserRole }>): Promise<User[]> {
    const rows = await sql.rows<Record<string, unknown>>(
      `INSERT INTO users (organization_id, email, name, role)
       SELECT $1, p.email, p.name, p.role FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS p(email, name, role, n)
       ORDER BY p.n RETURNING *`,
      [organizationId, people.map((p) => p.email), people.map((p) => p.name), people.map((p) => p.role)],
    );
    return rows.map((row) => fromRow(User, row));
  }

  async userById(sql: Sql, id: string): Promise<User> {
    const [row] = await sql.rows<Record<string, unknown>>("SELECT * FROM users WHERE id = $1", [id]);
    return fromRow(User, row ?? {});
  }

  /** Chats for the demo. */
  async insertChats(sql: Sql, chats: Array<Pick<ChatSession, "organizationId" | "customerName" | "customerPhone" | "ownerId" | "lastCustomerMessageAt">>): Promise<void> {
    await sql.rows(
      `INSERT INTO chat_sessions (organization_id, customer_name, customer_phone, owner_id, last_customer_message_at)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::timestamptz[])`,
      [
        chats.map((c) => c.organizationId),
        chats.map((c) => c.customerName),
        chats.map((c) => c.customerPhone),
        chats.map((c) => c.ownerId),
        chats.map((c) => c.lastCustomerMessageAt),
      ],
    );
  }
}
