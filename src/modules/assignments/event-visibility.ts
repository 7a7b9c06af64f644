import { can, requireAccess } from "../../policy/access";
import type { User } from "../users/user.entity";
import type { AssignmentEvent } from "./assignment-event.entity";

export enum EventScope {
  MINE = "MINE",
  ORGANIZATION = "ORGANIZATION",
}

/** The one rule for which assignment events a user may see, live or caught up. */
export function maySee(viewer: User, scope: EventScope, event: Pick<AssignmentEvent, "organizationId" | "fromUserId" | "toUserId">): boolean {
  if (event.organizationId !== viewer.organizationId) return false;
  if (scope === EventScope.ORGANIZATION) return can(viewer, "organization.follow");
  return (event.fromUserId === viewer.id || event.toUserId === viewer.id) && can(viewer, "event.see", event);
}

/** Whether the viewer may hold a feed of this scope at all. */
export function mayFollow(viewer: User, scope: EventScope): boolean {
  return scope !== EventScope.ORGANIZATION || can(viewer, "organization.follow");
}

export function assertScope(viewer: User, scope: EventScope): void {
  if (scope === EventScope.ORGANIZATION) requireAccess(viewer, "organization.follow");
}
