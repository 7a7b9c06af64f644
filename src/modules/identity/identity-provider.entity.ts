import { Column, Entity, PrimaryColumn } from "typeorm";

/** The OpenID Connect issuer an organization's people sign in with (issue #23). */
@Entity("identity_providers")
export class IdentityProvider {
  @PrimaryColumn("uuid", { name: "organization_id" })
  organizationId: string;

  /** Exactly as its tokens' `iss` and its discovery document's `issuer` say it. */
  @Column("text")
  issuer: string;

  /** What its tokens' `aud` must include. */
  @Column("text")
  audience: string;

  /** The claim that names the Baton user: `email` matches users' email, any other their `externalId`. */
  @Column("text", { name: "user_claim" })
  userClaim: string;

  /** A valid token for nobody Baton knows creates an active USER. */
  @Column("boolean", { name: "create_users" })
  createUsers: boolean;

  /** The console's client id at the provider (its Authorization Code + PKCE sign-in); null: the console does not offer it. */
  @Column("text", { name: "console_client_id", nullable: true })
  consoleClientId: string | null;

  @Column("timestamptz", { name: "created_at" })
  createdAt: Date;

  @Column("timestamptz", { name: "updated_at" })
  updatedAt: Date;
}
