import { randomUUID } from "node:crypto";
import type { DataSource } from "typeorm";
import { RecipientType } from "../../src/modules/assignments/assignment-request.entity";
import { TokenService } from "../../src/modules/auth/token.service";
import { ChatChannel, ChatSession, ChatStatus } from "../../src/modules/chat-sessions/chat-session.entity";
import { OrganizationService } from "../../src/modules/organizations/organization.service";
import { SettingsService } from "../../src/modules/settings/settings.service";
import { User, UserRole } from "../../src/modules/users/user.entity";

export const TEST_JWT_SECRET = "test-secret-0123456789abcdef";

export async function createUser(ds: DataSource, organizationId: string, overrides: Partial<User> = {}): Promise<User> {
  const name = overrides.name ?? `User ${randomUUID().slice(0, 6)}`;
  return ds.manager.save(
    ds.manager.create(User, {
      organizationId,
      email: `${name.toLowerCase().replace(/\W+/g, ".")}.${randomUUID().slice(0, 8)}@example.test`,
      name,
      role: UserRole.USER,
      active: true,
      ...overrides,
    }),
  );
}

export async function createChat(ds: DataSource, organizationId: string, ownerId: string, overrides: Partial<ChatSession> = {}): Promise<ChatSession> {
  const id = randomUUID();
  await ds.manager.insert(ChatSession, {
    id,
    organizationId,
    customerName: "Ann Customer",
    customerPhone: "+14155550100",
    channel: ChatChannel.WHATSAPP,
    status: ChatStatus.OPEN,
    ownerId,
    lastCustomerMessageAt: new Date(),
    ...overrides,
  });
  return ds.manager.findOneByOrFail(ChatSession, { id });
}

export interface World {
  organizationId: string;
  admin: User;
  mark: User;
  martha: User;
  maria: User;
  tom: User;
  chat: ChatSession;
  token(user: User, ttlSeconds?: number): string;
}

/** The feature page's cast: Mark (user, owns a chat), Martha (user), Maria (manager), Tom (user), an admin. */
export async function createWorld(ds: DataSource, orgName = "Acme"): Promise<World> {
  const { organizationId, adminUserId } = await new OrganizationService(ds).create(orgName, `admin@${randomUUID().slice(0, 8)}.test`, "Ada Admin");
  const admin = await ds.manager.findOneByOrFail(User, { id: adminUserId });
  const mark = await createUser(ds, organizationId, { name: "Mark" });
  const martha = await createUser(ds, organizationId, { name: "Martha" });
  const maria = await createUser(ds, organizationId, { name: "Maria", role: UserRole.MANAGER });
  const tom = await createUser(ds, organizationId, { name: "Tom" });
  const chat = await createChat(ds, organizationId, mark.id);
  const tokens = new TokenService(TEST_JWT_SECRET, ds);
  return { organizationId, admin, mark, martha, maria, tom, chat, token: (u, ttl) => tokens.sign(u.id, ttl) };
}

export const assignInput = (chatSessionId: string, recipientId: string, recipientType = RecipientType.USER) => ({
  chatSessionId,
  recipientId,
  recipientType,
});

/**
 * The loop rules (issue #24) off for the world's organization: for load that hands one chat back
 * and forth between two people (the rules themselves are tested in test/e2e/loops.test.ts).
 */
export async function loopRulesOff(ds: DataSource, w: World): Promise<void> {
  await new SettingsService(ds).update(w.admin, { pingPongMinutes: 0, maxHandoversPerChatPerDay: 0 });
}
