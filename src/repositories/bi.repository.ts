import type { DataSource } from "typeorm";
import type { Sql, Statement } from "../db/sql";

/**
 * BI access and the rollup, in SQL. Who may read which organization's rows through the `bi`
 * views is the table `reporting.bi_access` plus ordinary grants; Postgres applies it in the views
 * (see migration TenantScopedBi). Role names reach SQL only after `isRoleName`, quoted.
 */

/** A role name Baton will put in SQL: lower-case letters, digits and underscores, 1..63, not starting with a digit. */
export const isRoleName = (name: string): boolean => /^[a-z_][a-z0-9_]{0,62}$/.test(name) && !name.startsWith("pg_");

const ident = (name: string): string => {
  if (!isRoleName(name)) throw new Error(`not a role name Baton accepts: ${name}`);
  return `"${name}"`;
};

const ROLE: Statement = {
  name: "bi.role",
  text: `SELECT r.rolname AS name, r.rolsuper AS superuser, r.rolcanlogin AS login, r.rolname = current_user AS is_app,
                EXISTS (SELECT 1 FROM pg_roles b WHERE b.rolname = 'baton_bi' AND pg_has_role(r.oid, b.oid, 'USAGE')) AS in_baton_bi,
                r.rolbypassrls AS bypass_rls
           FROM pg_roles r WHERE r.rolname = $1`,
};

const UPSERT_ACCESS: Statement = {
  name: "bi.upsertAccess",
  text: `INSERT INTO reporting.bi_access (role_name, organization_id) VALUES ($1, $2)
         ON CONFLICT (role_name) DO UPDATE SET organization_id = EXCLUDED.organization_id, granted_at = now()`,
};

export interface RoleInfo {
  name: string;
  superuser: boolean;
  login: boolean;
  isApp: boolean;
  inBatonBi: boolean;
  bypassRls: boolean;
}

/** Session-level advisory lock key of the rollup's refresh: one instance refreshes at a time. */
const ROLLUP_LOCK = 7_305_221_042;

export class BiRepository {
  constructor(private readonly db: Sql) {}

  async role(name: string): Promise<RoleInfo | null> {
    const [row] = await this.db.rows<{ name: string; superuser: boolean; login: boolean; is_app: boolean; in_baton_bi: boolean; bypass_rls: boolean }>(ROLE, [name]);
    return row ? { name: row.name, superuser: row.superuser, login: row.login, isApp: row.is_app, inBatonBi: row.in_baton_bi, bypassRls: row.bypass_rls } : null;
  }

  /**
   * Whether Postgres reserves the word (current_user, session_user, user, all, ...): such a role,
   * even quoted, reads as something else wherever a role is named unquoted.
   */
  async isReservedWord(name: string): Promise<boolean> {
    const rows = await this.db.rows<{ word: string }>(`SELECT word FROM pg_get_keywords() WHERE word = $1 AND catcode IN ('R', 'T')`, [name]);
    return rows.length > 0;
  }

  /** Needs CREATEROLE (Postgres answers 42501 otherwise). */
  async createLoginRole(name: string, password: string): Promise<void> {
    await this.db.rows(`CREATE ROLE ${ident(name)} LOGIN PASSWORD '${password.replace(/'/g, "''")}' NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS`);
  }

  /** In the caller's transaction: the role may read the `bi` views, of `organizationId` only (null: every organization). */
  async grant(sql: Sql, name: string, organizationId: string | null): Promise<void> {
    await sql.rows(`GRANT USAGE ON SCHEMA bi TO ${ident(name)}`);
    await sql.rows(`GRANT SELECT ON ALL TABLES IN SCHEMA bi TO ${ident(name)}`);
    await sql.rows(UPSERT_ACCESS, [name, organizationId]);
  }

  /** In the caller's transaction: the role's access ends (the role itself stays; dropping it is the DBA's). Returns whether it had any. */
  async revoke(sql: Sql, name: string): Promise<boolean> {
    const removed = await sql.rows<{ role_name: string }>(`DELETE FROM reporting.bi_access WHERE role_name = $1 RETURNING role_name`, [name]);
    await sql.rows(`REVOKE SELECT ON ALL TABLES IN SCHEMA bi FROM ${ident(name)}`);
    await sql.rows(`REVOKE USAGE ON SCHEMA bi FROM ${ident(name)}`);
    return removed.length > 0;
  }

  async organizationExists(id: string): Promise<boolean> {
    return (await this.db.rows(`SELECT 1 FROM organizations WHERE id = $1`, [id])).length === 1;
  }

  /**
   * Recomputes the daily rollup without blocking its readers (REFRESH … CONCURRENTLY) on one
   * connection, under a session advisory lock so instances never refresh at the same time.
   * Returns false when another instance was refreshing it.
   */
  async refreshRollup(dataSource: DataSource): Promise<boolean> {
    const runner = dataSource.createQueryRunner();
    try {
      const [got] = (await runner.query(`SELECT pg_try_advisory_lock($1) AS got`, [ROLLUP_LOCK])) as Array<{ got: boolean }>;
      if (!got?.got) return false;
      try {
        await runner.query(`REFRESH MATERIALIZED VIEW CONCURRENTLY reporting.handover_daily`);
      } finally {
        await runner.query(`SELECT pg_advisory_unlock($1)`, [ROLLUP_LOCK]);
      }
      return true;
    } finally {
      await runner.release();
    }
  }
}
