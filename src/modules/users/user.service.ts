import type { DataSource } from "typeorm";
import { type AfterCommitErrorHandler, inTransaction } from "../../db/transaction";
import { type BatonPubSub, publishAvailabilityChanged, publishUserChanged } from "../../events/pubsub";
import { badInput, notFound } from "../../errors";
import { requireAccess } from "../../policy/access";
import { requireEmail, requireId, requireText } from "../../validation";
import { openChatsLimit } from "../settings/settings.service";
import type { HandoverEngine } from "../../engine/handover-engine";
import type { Presence } from "../presence/presence.service";
import { Availability, type User, type UserRole } from "./user.entity";

const AVAILABILITY_RANK: Record<Availability, number> = { AVAILABLE: 0, BUSY: 1, AWAY: 2 };
import { isUniqueViolation, poolSql } from "../../db/sql";
import { UserRepository } from "../../repositories/user.repository";

export interface UpsertUserData {
  email: string;
  name: string;
  role: UserRole;
  active?: boolean | null;
  /** Omitted or null keeps it; "" clears it. */
  externalId?: string | null;
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
  async list(viewer: User, role?: UserRole | null, search?: string | null, availableOnly = false): Promise<User[]> {
    const users = await this.repo.listActive(viewer.organizationId, role ?? null, search?.trim() || null, availableOnly);
    const online = await this.presence.onlineUserIds(users.map((u) => u.id));
    // Online first, then AVAILABLE before BUSY before AWAY; Array.prototype.sort is stable, so the name order holds within each group.
    const rank = (u: User) => (online.has(u.id) ? 0 : 3) + AVAILABILITY_RANK[u.availability];
    return users.sort((a, b) => rank(a) - rank(b));
  }

  /**
   * Sets one's own availability, or anyone's for managers and admins. Going AWAY times out, at
   * once and in the same transaction, the requests waiting for that user. Everyone in the
   * organization hears of the change live.
   */
  async setAvailability(viewer: User, userId: string, availability: Availability): Promise<User> {
    const id = requireId(userId, "userId");
    return inTransaction(
      this.dataSource,
      async (tx) => {
        const user = await this.repo.setAvailability(tx.sql, viewer.organizationId, id, availability);
        if (!user) throw notFound("User");
        requireAccess(viewer, "user.setAvailability", user);
        if (availability === Availability.AWAY) await this.assignments.recipientWentAway(tx, user.id, new Date());
        tx.afterCommit(() => {
          publishAvailabilityChanged(this.pubsub, user);
          // The user's cached copy (authentication) is dropped on every instance.
          publishUserChanged(this.pubsub, { userId: user.id, active: user.active, role: user.role });
        });
        return user;
      },
      this.onEffectError,
    );
  }

  /** Managers and admins: how many open chats a user may hold (null: the organization's default; 0: no limit). */
  async setMaxOpenChats(viewer: User, userId: string, maxOpenChats: number | null): Promise<User> {
    requireAccess(viewer, "user.setCapacity");
    const id = requireId(userId, "userId");
    const limit = maxOpenChats === null ? null : openChatsLimit(maxOpenChats, "maxOpenChats");
    const user = await this.repo.setMaxOpenChats(viewer.organizationId, id, limit);
    if (!user) throw notFound("User");
    return user;
  }

  /** How many open chats each user holds (owned, OPEN), in the order asked. */
  openChatCounts(organizationId: string, ids: readonly string[]): Promise<number[]> {
    return this.repo.openChatCounts(organizationId, ids);
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
    const externalId = input.externalId == null ? null : input.externalId === "" ? "" : requireText(input.externalId, "externalId", 1, 320);
    return inTransaction(this.dataSource, async (tx) => {
      const now = new Date();
      let user: User;
      try {
        user = await this.repo.upsert(tx.sql, viewer.organizationId, { email, name, role: input.role, active: input.active ?? null, externalId });
      } catch (err) {
        if (isUniqueViolation(err)) throw badInput("Another user of the organization has this externalId", "externalId");
        throw err;
      }
      if (!user.active) {
        await this.assignments.cancelPendingForUser(tx, user.id, viewer, `${user.name} was deactivated`, now);
      }
      // Open sockets of a deactivated user close, on every instance (with Redis).
      tx.afterCommit(() => publishUserChanged(this.pubsub, { userId: user.id, active: user.active, role: user.role }));
      return user;
    }, this.onEffectError);
  }
}
