import type { DataSource } from "typeorm";
import { type AfterCommitErrorHandler, inTransaction } from "../../db/transaction";
import { type BatonPubSub, publishUserChanged } from "../../events/pubsub";
import { requireAccess } from "../../policy/access";
import { requireEmail, requireText } from "../../validation";
import type { HandoverEngine } from "../../engine/handover-engine";
import type { Presence } from "../presence/presence.service";
import type { User, UserRole } from "./user.entity";
import { poolSql } from "../../db/sql";
import { UserRepository } from "../../repositories/user.repository";

export interface UpsertUserData {
  email: string;
  name: string;
  role: UserRole;
  active?: boolean | null;
}

export class UserService {
  private readonly repo: UserRepository;

  constructor(
    private readonly dataSource: DataSource,
    private readonly assignments: HandoverEngine,
    private readonly presence: Presence,
    private readonly pubsub: BatonPubSub,
    private readonly onEffectError: AfterCommitErrorHandler,
  ) {
    this.repo = new UserRepository(poolSql(dataSource));
  }

  /** The "Select User" list: active users of the viewer's organization, online first, then by name. */
  async list(viewer: User, role?: UserRole | null, search?: string | null): Promise<User[]> {
    const users = await this.repo.listActive(viewer.organizationId, role ?? null, search?.trim() || null);
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
      const user = await this.repo.upsert(tx.sql, viewer.organizationId, { email, name, role: input.role, active: input.active ?? null });
      if (!user.active) {
        await this.assignments.cancelPendingForUser(tx, user.id, viewer, `${user.name} was deactivated`, now);
      }
      // Open sockets of a deactivated user close, on every instance (with Redis).
      tx.afterCommit(() => publishUserChanged(this.pubsub, { userId: user.id, active: user.active }));
      return user;
    }, this.onEffectError);
  }
}
