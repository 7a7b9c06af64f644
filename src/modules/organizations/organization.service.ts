import type { DataSource } from "typeorm";
import { BatonError, ErrorCode } from "../../errors";
import { requireEmail, requireText } from "../../validation";
import { ping, poolSql, txSql } from "../../db/sql";
import { OrganizationRepository } from "../../repositories/organization.repository";
import { type User, UserRole } from "../users/user.entity";

export interface CreatedOrganization {
  organizationId: string;
  adminUserId: string;
}

export class OrganizationService {
  private readonly repo: OrganizationRepository;

  constructor(private readonly dataSource: DataSource) {
    this.repo = new OrganizationRepository(poolSql(dataSource));
  }

  /** Resolves when the database answers (the readiness probe): Baton's own data is behind it. */
  async ping(): Promise<void> {
    await ping(poolSql(this.dataSource));
  }

  /** A new tenant with its first admin, in one transaction. */
  async create(name: string, adminEmail: string, adminName: string): Promise<CreatedOrganization> {
    const orgName = requireText(name, "name", 1, 200);
    const email = requireEmail(adminEmail);
    const admin = requireText(adminName, "adminName", 1, 200);
    return this.dataSource.transaction(async (m) => {
      const sql = txSql(m);
      // One admin email, one organization: otherwise `cli token --email` could not tell them apart.
      await this.repo.lockAdminEmail(sql, email);
      const taken = await this.repo.organizationWithEmail(sql, email);
      if (taken) {
        throw new BatonError(ErrorCode.BAD_USER_INPUT, `a user with the email ${email} already exists (organization ${taken}); choose another admin email`, {
          field: "adminEmail",
        });
      }
      return this.repo.create(sql, orgName, email, admin);
    });
  }

  isEmpty(): Promise<boolean> {
    return this.repo.isEmpty();
  }

  /** The demo: an admin; Mark and Martha, users; Maria, a manager; 20 open chats owned by Mark. */
  async seedDemo(): Promise<Record<string, User>> {
    const { organizationId, adminUserId } = await this.create("Demo Org", "admin@demo.baton", "Ada Admin");
    return this.dataSource.transaction(async (m) => {
      const sql = txSql(m);
      const [mark, martha, maria] = await this.repo.insertUsers(sql, organizationId, [
        { email: "mark@demo.baton", name: "Mark", role: UserRole.USER },
        { email: "martha@demo.baton", name: "Martha", role: UserRole.USER },
        { email: "maria@demo.baton", name: "Maria", role: UserRole.MANAGER },
      ]);
      await this.repo.insertChats(
        sql,
        Array.from({ length: 20 }, (_, i) => ({
          organizationId,
          customerName: `Customer ${i + 1}`,
          customerPhone: `+1415555${String(1000 + i).padStart(4, "0")}`,
          ownerId: mark.id,
          lastCustomerMessageAt: new Date(Date.now() - i * 60_000),
        })),
      );
      return { admin: await this.repo.userById(sql, adminUserId), mark, martha, maria };
    });
  }
}
