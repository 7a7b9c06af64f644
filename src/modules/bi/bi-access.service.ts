import { randomBytes } from "node:crypto";
import type { DataSource } from "typeorm";
import { inTransaction } from "../../db/transaction";
import { poolSql } from "../../db/sql";
import { BatonError, ErrorCode } from "../../errors";
import { BiRepository, isRoleName } from "../../repositories/bi.repository";
import { isUuid } from "../../validation";

export interface GrantResult {
  role: string;
  organizationId: string | null;
  /** Set when this call created the login role: the only time the password is shown. */
  password?: string;
  created: boolean;
}

/**
 * Tenant-scoped BI access (the operator's CLI: `bi:grant`, `bi:revoke`, `bi:refresh`). A granted
 * role reads the `bi` views of one organization (or of all, for an operator) and nothing else;
 * Postgres enforces it in the views. Creating the login role needs CREATEROLE; without it the
 * error says what a DBA runs once, and granting an existing role needs no special privilege.
 */
export class BiAccessService {
  private readonly repo: BiRepository;

  constructor(private readonly dataSource: DataSource) {
    this.repo = new BiRepository(poolSql(dataSource));
  }

  async grant(roleName: string, organizationId: string | null): Promise<GrantResult> {
    const role = checkRoleName(roleName);
    // PUBLIC and NONE name no role where roles are named; the reserved words read as functions.
    if (ROLE_SPEC_WORDS.has(role) || (await this.repo.isReservedWord(role))) {
      throw new BatonError(ErrorCode.BAD_USER_INPUT, `${role} is a word Postgres reserves: choose a dedicated role name such as acme_bi`, { field: "role" });
    }
    if (organizationId !== null) {
      if (!isUuid(organizationId) || !(await this.repo.organizationExists(organizationId.toLowerCase()))) {
        throw new BatonError(ErrorCode.NOT_FOUND, `no organization ${organizationId}`, { field: "organization" });
      }
    }
    const org = organizationId?.toLowerCase() ?? null;
    let info = await this.repo.role(role);
    let password: string | undefined;
    if (!info) {
      password = randomBytes(18).toString("base64url");
      try {
        await this.repo.createLoginRole(role, password);
      } catch (err) {
        if ((err as { code?: string }).code === "42501") {
          throw new BatonError(
            ErrorCode.FORBIDDEN,
            `this database user may not create roles (no CREATEROLE). Ask a DBA to run once: CREATE ROLE ${role} LOGIN PASSWORD '<choose one>'; then run bi:grant again`,
            { field: "role" },
          );
        }
        throw err;
      }
      info = await this.repo.role(role);
    }
    if (!info) throw new Error(`role ${role} vanished while being granted`);
    const problem = info.isApp
      ? "is the database user Baton itself runs as"
      : info.superuser
        ? "is a superuser (it would read every table)"
        : info.bypassRls
          ? "has BYPASSRLS"
          : org !== null && info.inBatonBi
            ? "is a member of baton_bi, which reads every organization"
            : null;
    if (problem) throw new BatonError(ErrorCode.BAD_USER_INPUT, `role ${role} ${problem}: choose a dedicated login role`, { field: "role" });
    await inTransaction(this.dataSource, (tx) => this.repo.grant(tx.sql, role, org), noEffects);
    return { role, organizationId: org, created: password !== undefined, ...(password ? { password } : {}) };
  }

  async revoke(roleName: string): Promise<{ role: string; hadAccess: boolean }> {
    const role = checkRoleName(roleName);
    if (role === "baton_bi") throw new BatonError(ErrorCode.BAD_USER_INPUT, "baton_bi is the operator's all-organizations role; revoke its members' membership instead", { field: "role" });
    if (!(await this.repo.role(role))) throw new BatonError(ErrorCode.NOT_FOUND, `no role ${role}`, { field: "role" });
    const hadAccess = await inTransaction(this.dataSource, (tx) => this.repo.revoke(tx.sql, role), noEffects);
    return { role, hadAccess };
  }

  /** Recomputes `bi.handover_daily` now; false when another instance was doing it. */
  refreshRollup(): Promise<boolean> {
    return this.repo.refreshRollup(this.dataSource);
  }
}

/** Grants publish nothing after commit. */
const noEffects = (): void => {};

/** Words with a meaning of their own where a role is named (GRANT ... TO public). */
const ROLE_SPEC_WORDS = new Set(["public", "none", "current_user", "current_role", "session_user", "user"]);

function checkRoleName(name: string): string {
  if (!isRoleName(name)) {
    throw new BatonError(ErrorCode.BAD_USER_INPUT, "a role name is 1..63 lower-case letters, digits and underscores, not starting with a digit or pg_", { field: "role" });
  }
  return name;
}
