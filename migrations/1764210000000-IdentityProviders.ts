import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Sign-in with the organization's identity provider (issue #23): at most one OpenID Connect issuer
 * per organization, and an issuer belongs to one organization (it picks the organization a token
 * signs in to). `user_claim` names the token's claim that finds the Baton user: `email` matches
 * users' email, any other claim (`sub`, `oid`, ...) their new `external_id`.
 */
export class IdentityProviders1764210000000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE identity_providers (
        organization_id uuid PRIMARY KEY REFERENCES organizations(id),
        issuer text NOT NULL UNIQUE,
        audience text NOT NULL,
        user_claim text NOT NULL DEFAULT 'email',
        create_users boolean NOT NULL DEFAULT false,
        console_client_id text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      ALTER TABLE users ADD COLUMN external_id text;
      CREATE UNIQUE INDEX users_external_id_idx ON users (organization_id, external_id) WHERE external_id IS NOT NULL;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX users_external_id_idx; ALTER TABLE users DROP COLUMN external_id; DROP TABLE identity_providers;`);
  }
}
