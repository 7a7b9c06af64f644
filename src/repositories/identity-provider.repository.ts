import { fromRow } from "../db/hydrate";
import type { Sql, Statement } from "../db/sql";
import { IdentityProvider } from "../modules/identity/identity-provider.entity";
import { User, UserRole } from "../modules/users/user.entity";

const OF_ORGANIZATION: Statement = { name: "idp.ofOrganization", text: "SELECT * FROM identity_providers WHERE organization_id = $1" };
const BY_ISSUER: Statement = { name: "idp.byIssuer", text: "SELECT * FROM identity_providers WHERE issuer = $1" };
const PUT: Statement = {
  name: "idp.put",
  text: `INSERT INTO identity_providers (organization_id, issuer, audience, user_claim, create_users, console_client_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
         ON CONFLICT (organization_id) DO UPDATE
            SET issuer = EXCLUDED.issuer, audience = EXCLUDED.audience, user_claim = EXCLUDED.user_claim,
                create_users = EXCLUDED.create_users, console_client_id = EXCLUDED.console_client_id, updated_at = EXCLUDED.updated_at
         RETURNING *`,
};
const REMOVE: Statement = { name: "idp.remove", text: "DELETE FROM identity_providers WHERE organization_id = $1 RETURNING issuer" };
const USER_BY_EMAIL: Statement = {
  name: "idp.userByEmail",
  text: "SELECT * FROM users WHERE organization_id = $1 AND lower(email) = lower($2)",
};
const USER_BY_EXTERNAL_ID: Statement = {
  name: "idp.userByExternalId",
  text: "SELECT * FROM users WHERE organization_id = $1 AND external_id = $2",
};
/**
 * A sign-in's new user, or the row already there. Two first sign-ins at once create one; the second
 * gets nothing when the first committed during its statement (the statement's snapshot predates
 * that row): the service reads again in a new statement.
 */
const CREATE_USER: Statement = {
  name: "idp.createUser",
  text: `WITH created AS (
           INSERT INTO users (organization_id, email, name, role, active, external_id)
           VALUES ($1, $2, $3, $4, true, $5)
           ON CONFLICT DO NOTHING
           RETURNING *)
         SELECT * FROM created
         UNION ALL
         SELECT * FROM users WHERE NOT EXISTS (SELECT 1 FROM created)
            AND organization_id = $1 AND ($5::text IS NULL AND lower(email) = lower($2) OR external_id = $5)`,
};

/** Providers the console signs in with, by an active user's email (any organization). */
const CONSOLE_BY_EMAIL: Statement = {
  name: "idp.consoleByEmail",
  text: `SELECT p.* FROM identity_providers p JOIN users u ON u.organization_id = p.organization_id
          WHERE lower(u.email) = lower($1) AND u.active AND p.console_client_id IS NOT NULL`,
};
const CONSOLE_OF_ORGANIZATION: Statement = {
  name: "idp.consoleOfOrganization",
  text: "SELECT * FROM identity_providers WHERE organization_id = $1 AND console_client_id IS NOT NULL",
};
const CONSOLE_ISSUERS: Statement = { name: "idp.consoleIssuers", text: "SELECT DISTINCT issuer FROM identity_providers WHERE console_client_id IS NOT NULL" };

/** The organizations' identity providers, and the users their sign-ins name. */
export class IdentityProviderRepository {
  constructor(private readonly db: Sql) {}

  async ofOrganization(organizationId: string): Promise<IdentityProvider | null> {
    const [row] = await this.db.rows<Record<string, unknown>>(OF_ORGANIZATION, [organizationId]);
    return row ? fromRow(IdentityProvider, row) : null;
  }

  async consoleByEmail(email: string): Promise<IdentityProvider[]> {
    return (await this.db.rows<Record<string, unknown>>(CONSOLE_BY_EMAIL, [email])).map((r) => fromRow(IdentityProvider, r));
  }

  async consoleOfOrganization(organizationId: string): Promise<IdentityProvider | null> {
    const [row] = await this.db.rows<Record<string, unknown>>(CONSOLE_OF_ORGANIZATION, [organizationId]);
    return row ? fromRow(IdentityProvider, row) : null;
  }

  async consoleIssuers(): Promise<string[]> {
    return (await this.db.rows<{ issuer: string }>(CONSOLE_ISSUERS)).map((r) => r.issuer);
  }

  async byIssuer(issuer: string): Promise<IdentityProvider | null> {
    const [row] = await this.db.rows<Record<string, unknown>>(BY_ISSUER, [issuer]);
    return row ? fromRow(IdentityProvider, row) : null;
  }

  /** Sets the organization's provider; throws Postgres's unique violation when another organization has the issuer. */
  async put(p: Omit<IdentityProvider, "createdAt" | "updatedAt">, now: Date): Promise<IdentityProvider> {
    const [row] = await this.db.rows<Record<string, unknown>>(PUT, [p.organizationId, p.issuer, p.audience, p.userClaim, p.createUsers, p.consoleClientId, now]);
    return fromRow(IdentityProvider, row ?? {});
  }

  /** The removed provider's issuer, or null when there was none. */
  async remove(organizationId: string): Promise<string | null> {
    const [row] = await this.db.rows<{ issuer: string }>(REMOVE, [organizationId]);
    return row?.issuer ?? null;
  }

  async userByEmail(organizationId: string, email: string): Promise<User | null> {
    const [row] = await this.db.rows<Record<string, unknown>>(USER_BY_EMAIL, [organizationId, email]);
    return row ? fromRow(User, row) : null;
  }

  async userByExternalId(organizationId: string, externalId: string): Promise<User | null> {
    const [row] = await this.db.rows<Record<string, unknown>>(USER_BY_EXTERNAL_ID, [organizationId, externalId]);
    return row ? fromRow(User, row) : null;
  }

  /** Creates an active USER for a first sign-in (or finds the one a concurrent sign-in created). */
  async createUser(organizationId: string, u: { email: string; name: string; externalId: string | null }): Promise<User | null> {
    const [row] = await this.db.rows<Record<string, unknown>>(CREATE_USER, [organizationId, u.email, u.name, UserRole.USER, u.externalId]);
    return row ? fromRow(User, row) : null;
  }
}
