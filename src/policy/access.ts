import { BatonError, ErrorCode } from "../errors";
import { UserRole } from "../modules/users/user.entity";

/**
 * Who may do what: every rule of Baton's authorization, in this one file. Services and the
 * engine ask `requireAccess` (throws FORBIDDEN) or `can` (a yes/no, for lists and feeds) before
 * every operation; nothing else decides.
 *
 * Another organization's objects never reach these rules: repositories read within the viewer's
 * organization only, so a foreign id is simply not found.
 */
export interface Viewer {
  id: string;
  organizationId: string;
  role: UserRole;
}

/** The parts of a subject the rules look at. */
export interface ChatSubject {
  ownerId: string;
}
export interface RequestSubject {
  senderId: string;
  recipientId: string;
}
export interface EventSubject {
  fromUserId: string;
  toUserId: string;
}
export interface DiscussionSubject {
  requesterId: string;
  consultantId: string;
}
export interface ChatUpdateSubject {
  chat: ChatSubject;
  previousOwnerId: string | null;
}

const isManager = (v: Viewer): boolean => v.role === UserRole.MANAGER || v.role === UserRole.ADMIN;
const isAdmin = (v: Viewer): boolean => v.role === UserRole.ADMIN;

interface Rule<S> {
  allows(viewer: Viewer, subject: S): boolean;
  /** The FORBIDDEN message. */
  refusal: string;
}

/** Each permission and what it is asked about (null: the viewer alone decides). */
interface Subjects {
  "chat.open": null;
  "chat.recordMessage": null;
  "chat.close": ChatSubject;
  "chat.assign": ChatSubject;
  "chat.follow": ChatUpdateSubject;
  "handover.override": null;
  "request.see": RequestSubject;
  "request.answer": RequestSubject;
  "request.withdraw": RequestSubject;
  "event.see": EventSubject;
  "discussion.see": DiscussionSubject;
  "discussion.post": DiscussionSubject;
  "discussion.end": DiscussionSubject;
  "organization.follow": null;
  "organization.list": null;
  "tracking.export": null;
  "users.manage": null;
  "user.setAvailability": { id: string };
  "user.setCapacity": null;
  "settings.manage": null;
  "webhooks.manage": null;
  "identity.manage": null;
  "audit.checkpoints": null;
}
export type Permission = keyof Subjects;

/** Permission -> rule. Read top to bottom: this is the whole access model. */
const RULES: { [P in Permission]: Rule<Subjects[P]> } = {
  // Chats
  "chat.open": { allows: (v) => isAdmin(v), refusal: "Only admins may open chat sessions" },
  /** The WhatsApp connector's account records each inbound message's time (the reply window). */
  "chat.recordMessage": { allows: (v) => isAdmin(v), refusal: "Only admins may record customer messages" },
  "chat.close": {
    allows: (v, chat) => chat.ownerId === v.id || isManager(v),
    refusal: "Only the chat's owner, a manager or an admin may close it",
  },
  /** Send an assignment request for the chat, or move it directly in a bulk assignment. */
  "chat.assign": {
    allows: (v, chat) => chat.ownerId === v.id || isManager(v),
    refusal: "Only the chat's owner, a manager or an admin may assign it",
  },
  /** Hand a chat over against the loop rule (`override: true`; HANDOVER_LOOP, HANDOVER_LIMIT_REACHED). */
  "handover.override": { allows: (v) => isManager(v), refusal: "Only managers and admins may override the loop rule" },
  /** Hear of a chat's changes live: managers, its owner, and the owner it was taken from. */
  "chat.follow": {
    allows: (v, s) => isManager(v) || s.chat.ownerId === v.id || s.previousOwnerId === v.id,
    refusal: "You do not follow this chat",
  },

  // Requests
  /** A request exists for its two parties and the organization's managers; for others it is not found. */
  "request.see": {
    allows: (v, r) => isManager(v) || r.senderId === v.id || r.recipientId === v.id,
    refusal: "Assignment request not found",
  },
  "request.answer": { allows: (v, r) => r.recipientId === v.id, refusal: "Only the recipient may accept or reject a request" },
  "request.withdraw": {
    allows: (v, r) => r.senderId === v.id || isManager(v),
    refusal: "Only the sender, a manager or an admin may withdraw a request",
  },

  /** An assignment event, live or caught up: its two parties and the organization's managers. */
  "event.see": {
    allows: (v, e) => isManager(v) || e.fromUserId === v.id || e.toUserId === v.id,
    refusal: "You may not see this event",
  },

  // Discussions (the stage after an accepted DISCUSS request)
  /** Read it and its messages, follow it live: its two participants and the organization's managers; for others it is not found. */
  "discussion.see": {
    allows: (v, d) => isManager(v) || d.requesterId === v.id || d.consultantId === v.id,
    refusal: "Discussion not found",
  },
  "discussion.post": {
    allows: (v, d) => d.requesterId === v.id || d.consultantId === v.id,
    refusal: "Only the two participants may write in a discussion",
  },
  "discussion.end": {
    allows: (v, d) => isManager(v) || d.requesterId === v.id || d.consultantId === v.id,
    refusal: "Only a participant, a manager or an admin may end a discussion",
  },

  // The organization as a whole
  /** Follow every event and chat of the organization, read and export its tracking records. */
  "organization.follow": { allows: (v) => isManager(v), refusal: "Only managers and admins may follow the whole organization" },
  /** Lists (requests, tracking records, events) cover the whole organization, not only the viewer's own. */
  "organization.list": { allows: (v) => isManager(v), refusal: "Only managers and admins may list the whole organization" },
  "tracking.export": { allows: (v) => isManager(v), refusal: "Only managers and admins may export tracking records" },
  "users.manage": { allows: (v) => isAdmin(v), refusal: "Only admins may create or change users" },
  /** Availability: one's own, or anyone's for managers and admins. */
  "user.setAvailability": {
    allows: (v, u) => u.id === v.id || isManager(v),
    refusal: "Only managers and admins may set someone else's availability",
  },
  /** Capacity: how many open chats someone may hold. */
  "user.setCapacity": { allows: (v) => isManager(v), refusal: "Only managers and admins may set how many chats someone may hold" },
  "settings.manage": { allows: (v) => isAdmin(v), refusal: "Only admins may change the Assign/Discuss settings" },
  /** Webhook endpoints: see, create, change, rotate, delete (their secrets sign as Baton). */
  "webhooks.manage": { allows: (v) => isAdmin(v), refusal: "Only admins may manage webhook endpoints" },
  /** The organization's identity provider: whose tokens sign its people in. */
  "identity.manage": { allows: (v) => isAdmin(v), refusal: "Only admins may manage the identity provider" },
  /** The verifiable log's signed checkpoints (its events' hashes are on the events themselves, for whoever may see them). */
  "audit.checkpoints": { allows: (v) => isManager(v), refusal: "Only managers and admins may read the audit checkpoints" },
};

/**
 * Who may hear of a subject live, as the audiences a publish goes to: the organization (the
 * managers and admins following it) and these users. Derived from the rules above, so a feed can
 * only carry what `can` would allow (test/unit/policy.test.ts checks them against each other).
 */
export interface Audience {
  organizationId: string;
  userIds: string[];
}

const partiesOf = (...ids: Array<string | null>): string[] => [...new Set(ids.filter((id): id is string => !!id))];

export const audienceOf = {
  /** `event.see`: the organization's managers, and the two people it is about. */
  event: (organizationId: string, e: EventSubject): Audience => ({ organizationId, userIds: partiesOf(e.fromUserId, e.toUserId) }),
  /** `chat.follow`: the organization's managers, the chat's owner and the one it was taken from. */
  chat: (organizationId: string, s: ChatUpdateSubject): Audience => ({ organizationId, userIds: partiesOf(s.chat.ownerId, s.previousOwnerId) }),
};

type Args<P extends Permission> = Subjects[P] extends null ? [] : [subject: Subjects[P]];

export function can<P extends Permission>(viewer: Viewer, permission: P, ...subject: Args<P>): boolean {
  const rule = RULES[permission] as Rule<Subjects[P] | null>;
  return rule.allows(viewer, (subject[0] ?? null));
}

/** FORBIDDEN unless `can`; `request.see` and `discussion.see` answer NOT_FOUND instead, as for an id that does not exist. */
export function requireAccess<P extends Permission>(viewer: Viewer, permission: P, ...subject: Args<P>): void {
  if (can(viewer, permission, ...subject)) return;
  const rule = RULES[permission];
  const hidden = permission === "request.see" || permission === "discussion.see";
  throw new BatonError(hidden ? ErrorCode.NOT_FOUND : ErrorCode.FORBIDDEN, rule.refusal);
}

/**
 * The permissions that decide what a viewer may see (as opposed to what they may do): every field
 * a subscription delivers is shown or hidden by one of these.
 */
export const SEEING_PERMISSIONS = [
  "chat.follow",
  "request.see",
  "event.see",
  "discussion.see",
  "organization.follow",
  "organization.list",
  "users.manage",
] as const satisfies readonly Permission[];

/**
 * Viewers of the same class are allowed exactly the same by every seeing permission, whatever the
 * subject (test/unit/policy.test.ts): a manager or an admin sees by role within the organization,
 * a user by who they are. The socket layer resolves a subscription's event once per class and
 * sends the result to each of its sockets (graphql/multiplex.ts).
 */
export function visibilityClass(viewer: Viewer): string {
  return isManager(viewer) ? `${viewer.organizationId}:${viewer.role}` : `${viewer.organizationId}:${viewer.role}:${viewer.id}`;
}

/**
 * For lists: whose rows the viewer may see, as a filter a query applies. Null: all of the
 * organization's; else only those this user took part in (sent, received, initiated).
 */
export function partyFilter(viewer: Viewer): string | null {
  return can(viewer, "organization.list") ? null : viewer.id;
}

/**
 * The requests on which the viewer may take an action of `permission` whatever else they hold,
 * as a filter a write applies to the row itself: the recipient answers requests sent to them; a
 * user withdraws requests they sent; a manager withdraws any of the organization's. Null when the
 * permission is not decided by the viewer's part in the request. `can` agrees with it on every
 * request matching the filter (test/unit/policy.test.ts).
 */
export interface RequestScope {
  senderId?: string;
  recipientId?: string;
}

export function requestScope(viewer: Viewer, permission: Permission): RequestScope | null {
  if (permission === "request.answer") return { recipientId: viewer.id };
  if (permission === "request.withdraw") return isManager(viewer) ? {} : { senderId: viewer.id };
  return null;
}

/**
 * The chats a viewer may assign or discuss whatever else they hold, as a filter a write applies to
 * the chat row: a user's own chats, any of the organization's for a manager or an admin. `can`
 * agrees with it on every chat (test/unit/policy.test.ts).
 */
export interface ChatScope {
  ownerId?: string;
}

export function chatScope(viewer: Viewer, _permission: "chat.assign"): ChatScope {
  return isManager(viewer) ? {} : { ownerId: viewer.id };
}
