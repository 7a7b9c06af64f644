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

/** Permission -> rule. Read top to bottom: this is the whole access model. */
const RULES = {
  // Chats
  "chat.open": { allows: (v) => isAdmin(v), refusal: "Only admins may open chat sessions" } satisfies Rule<null>,
  "chat.close": {
    allows: (v, chat) => chat.ownerId === v.id || isManager(v),
    refusal: "Only the chat's owner, a manager or an admin may close it",
  } satisfies Rule<ChatSubject>,
  /** Send an assignment request for the chat, or move it directly in a bulk assignment. */
  "chat.assign": {
    allows: (v, chat) => chat.ownerId === v.id || isManager(v),
    refusal: "Only the chat's owner, a manager or an admin may assign it",
  } satisfies Rule<ChatSubject>,
  /** Hear of a chat's changes live: managers, its owner, and the owner it was taken from. */
  "chat.follow": {
    allows: (v, s) => isManager(v) || s.chat.ownerId === v.id || s.previousOwnerId === v.id,
    refusal: "You do not follow this chat",
  } satisfies Rule<ChatUpdateSubject>,

  // Requests
  /** A request exists for its two parties and the organization's managers; for others it is not found. */
  "request.see": {
    allows: (v, r) => isManager(v) || r.senderId === v.id || r.recipientId === v.id,
    refusal: "Assignment request not found",
  } satisfies Rule<RequestSubject>,
  "request.answer": { allows: (v, r) => r.recipientId === v.id, refusal: "Only the recipient may accept or reject a request" } satisfies Rule<RequestSubject>,
  "request.withdraw": {
    allows: (v, r) => r.senderId === v.id || isManager(v),
    refusal: "Only the sender, a manager or an admin may withdraw a request",
  } satisfies Rule<RequestSubject>,

  // The organization as a whole
  /** Follow every event and chat of the organization, read and export its tracking records. */
  "organization.follow": { allows: (v) => isManager(v), refusal: "Only managers and admins may follow the whole organization" } satisfies Rule<null>,
  "tracking.read": { allows: (v) => isManager(v), refusal: "Only managers and admins may read tracking records" } satisfies Rule<null>,
  "tracking.export": { allows: (v) => isManager(v), refusal: "Only managers and admins may export tracking records" } satisfies Rule<null>,
  "users.manage": { allows: (v) => isAdmin(v), refusal: "Only admins may create or change users" } satisfies Rule<null>,
  "settings.manage": { allows: (v) => isAdmin(v), refusal: "Only admins may change the Assign/Discuss settings" } satisfies Rule<null>,
};

export type Permission = keyof typeof RULES;
type SubjectOf<P extends Permission> = (typeof RULES)[P] extends Rule<infer S> ? S : never;
type Args<P extends Permission> = SubjectOf<P> extends null ? [] : [subject: SubjectOf<P>];

export function can<P extends Permission>(viewer: Viewer, permission: P, ...subject: Args<P>): boolean {
  const rule = RULES[permission] as Rule<unknown>;
  return rule.allows(viewer, subject[0] ?? null);
}

/** FORBIDDEN unless `can`; `request.see` answers NOT_FOUND instead, as for an id that does not exist. */
export function requireAccess<P extends Permission>(viewer: Viewer, permission: P, ...subject: Args<P>): void {
  if (can(viewer, permission, ...subject)) return;
  const rule = RULES[permission] as Rule<unknown>;
  throw new BatonError(permission === "request.see" ? ErrorCode.NOT_FOUND : ErrorCode.FORBIDDEN, rule.refusal);
}

/**
 * For lists: whose requests the viewer may see, as a filter a query applies. Null: all of the
 * organization's; else only those this user sent or received.
 */
export function requestPartyFilter(viewer: Viewer): string | null {
  return isManager(viewer) ? null : viewer.id;
}
