import type { DataSource } from "typeorm";
import { type AfterCommitErrorHandler, inTransaction } from "../../db/transaction";
import { type BatonPubSub, publishUserChanged } from "../../events/pubsub";
import { requireAccess } from "../../policy/access";
import { requireEmail, requireText } from "../../validation";
import type { HandoverEngine } from "../../engine/handover-engine";
import type { Presence } from "../presence/presence.service";
import { User, UserRole } from "./user.entity";

export interface UpsertUserData {
  email: string;
  name: string;
  role: UserRole;
  active?: boolean | null;
}

export class UserService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly assignments: HandoverEngine,
    private readonly presence: Presence,
    private readonly pubsub: BatonPubSub,
    private readonly onEffectError: AfterCommitErrorHandler,
  ) {}

  /** The "Select User" list: active users of the viewer's organization, online first, then by name. */
  async list(viewer: User, role?: UserRole | null, search?: string | null): Promise<User[]> {
    const q = this.dataSource.manager
      .createQueryBuilder(User, "u")
      .where("u.organization_id = :org AND u.active", { org: viewer.organizationId })
      .orderBy("lower(u.name)")
      .addOrderBy("u.id")
      .limit(500);
    if (role) q.andWhere("u.role = :role", { role });
    const term = search?.trim();
    if (term) {
      const like = `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      q.andWhere("(u.name ILIKE :like OR u.email ILIKE :like)", { like });
    }
    const users = await q.getMany();
    const online = await this.presence.onlineUserIds(users.map((u) => u.id));
    // Array.prototype.sort is stable: the name order holds within each group.
    return users.sort((a, b) => Number(online.has(b.id)) - Number(online.has(a.id)));
  }

  /**
   * Admins provision users by email (the WhatsApp connector does this). Deactivating a user
   * cancels the pending requests they sent or received, in the same transaction, and closes
   * their open sockets once it commits.
   */
  async upsert(viewer: User, input: UpsertUserData): Promise<User> {
    requireAccess(viewer, "users.manage");
    const email = requireEmail(input.email);
    const name = requireText(input.name, "name", 1, 200);
    return inTransaction(this.dataSource, async (tx) => {
      const now = new Date();
      const rows = await tx.manager.query<Array<{ id: string }>>(
        `INSERT INTO users (organization_id, email, name, role, active)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (organization_id, lower(email))
         DO UPDATE SET name = EXCLUDED.name, role = EXCLUDED.role,
                       active = COALESCE($6, users.active), updated_at = now()
         RETURNING id`,
        [viewer.organizationId, email, name, input.role, input.active ?? true, input.active ?? null],
      );
      const user = await tx.manager.findOneByOrFail(User, { id: rows[0]?.id ?? "" });
      if (!user.active) {
        await this.assignments.cancelPendingForUser(tx, user.id, viewer, `${user.name} was deactivated`, now);
      }
      // Open sockets of a deactivated user close, on every instance (with Redis).
      tx.afterCommit(() => publishUserChanged(this.pubsub, { userId: user.id, active: user.active }));
      return user;
    }, this.onEffectError);
  }
}
