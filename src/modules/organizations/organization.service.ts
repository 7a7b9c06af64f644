import type { DataSource } from "typeorm";
import { BatonError, ErrorCode } from "../../errors";
import { requireEmail, requireText } from "../../validation";
import { User, UserRole } from "../users/user.entity";
import { ChatChannel, ChatSession, ChatStatus } from "../chat-sessions/chat-session.entity";

export interface CreatedOrganization {
  organizationId: string;
  adminUserId: string;
}

export class OrganizationService {
  constructor(private readonly dataSource: DataSource) {}

  /** A new tenant with its first admin, in one transaction. */
  async create(name: string, adminEmail: string, adminName: string): Promise<CreatedOrganization> {
    const orgName = requireText(name, "name", 1, 200);
    const email = requireEmail(adminEmail);
    const admin = requireText(adminName, "adminName", 1, 200);
    return this.dataSource.transaction(async (m) => {
      // One admin email, one organization: otherwise `cli token --email` could not tell them apart.
      await m.query(`SELECT pg_advisory_xact_lock(hashtextextended('baton:admin-email:' || $1, 0))`, [email]);
      const [taken] = await m.query<Array<{ organization_id: string }>>(`SELECT organization_id FROM users WHERE lower(email) = $1 LIMIT 1`, [email]);
      if (taken) {
        throw new BatonError(ErrorCode.BAD_USER_INPUT, `a user with the email ${email} already exists (organization ${taken.organization_id}); choose another admin email`, {
          field: "adminEmail",
        });
      }
      const [org] = await m.query<Array<{ id: string }>>(`INSERT INTO organizations (name) VALUES ($1) RETURNING id`, [orgName]);
      const organizationId = org?.id ?? "";
      const [user] = await m.query<Array<{ id: string }>>(
        `INSERT INTO users (organization_id, email, name, role) VALUES ($1, $2, $3, 'ADMIN') RETURNING id`,
        [organizationId, email, admin],
      );
      await m.query(`INSERT INTO assign_discuss_settings (organization_id) VALUES ($1)`, [organizationId]);
      return { organizationId, adminUserId: user?.id ?? "" };
    });
  }

  async isEmpty(): Promise<boolean> {
    const [row] = await this.dataSource.query<Array<{
      empty: boolean;
    }>>(`SELECT NOT EXISTS (SELECT 1 FROM organizations) AS empty`);
    return row?.empty ?? true;
  }

  /** The demo: an admin; Mark and Martha, users; Maria, a manager; 20 open chats owned by Mark. */
  async seedDemo(): Promise<Record<string, User>> {
    const { organizationId, adminUserId } = await this.create("Demo Org", "admin@demo.baton", "Ada Admin");
    return this.dataSource.transaction(async (m) => {
      const people: Array<[string, string, UserRole]> = [
        ["mark", "Mark", UserRole.USER],
        ["martha", "Martha", UserRole.USER],
        ["maria", "Maria", UserRole.MANAGER],
      ];
      const users: Record<string, User> = { admin: await m.findOneByOrFail(User, { id: adminUserId }) };
      for (const [key, name, role] of people) {
        const inserted = await m.save(
          m.create(User, { organizationId, email: `${key}@demo.baton`, name, role, active: true }),
        );
        users[key] = inserted;
      }
      const mark = users.mark;
      const chats = Array.from({ length: 20 }, (_, i) =>
        m.create(ChatSession, {
          organizationId,
          customerName: `Customer ${i + 1}`,
          customerPhone: `+1415555${String(1000 + i).padStart(4, "0")}`,
          channel: ChatChannel.WHATSAPP,
          status: ChatStatus.OPEN,
          ownerId: mark.id,
          lastCustomerMessageAt: new Date(Date.now() - i * 60_000),
        }),
      );
      await m.insert(ChatSession, chats);
      return users;
    });
  }
}
