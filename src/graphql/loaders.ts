import DataLoader from "dataloader";
import type { Presence } from "../modules/presence/presence.service";
import type { AssignDiscussSettings } from "../modules/settings/assign-discuss-settings.entity";
import type { RelationName, RelationRow, RelationService } from "../modules/reads/relation.service";

/**
 * One loader per relation, per GraphQL operation, scoped to the viewer's organization: a page
 * of 100 requests with their chats, people and records costs one statement per relation.
 */
export function createLoaders(
  reads: RelationService,
  organizationId: string,
  presence: Presence,
  users: { openChatCounts(organizationId: string, ids: readonly string[]): Promise<number[]> },
  settings: { get(organizationId: string): Promise<AssignDiscussSettings> },
) {
  let organizationSettings: Promise<AssignDiscussSettings> | null = null;
  const loader = <N extends RelationName>(name: N) => new DataLoader<string, RelationRow<N> | null>((keys) => reads.byKeys(name, organizationId, keys));
  return {
    online: new DataLoader<string, boolean>(async (ids) => {
      const online = await presence.onlineUserIds(ids);
      return ids.map((id) => online.has(id));
    }),
    /** The viewer's organization's settings, read once per operation. */
    settings: () => (organizationSettings ??= settings.get(organizationId)),
    openChatCount: new DataLoader<string, number>((ids) => users.openChatCounts(organizationId, ids)),
    user: loader("user"),
    chatSession: loader("chatSession"),
    request: loader("request"),
    nextRequest: loader("nextRequest"),
    pendingRequestByChat: loader("pendingRequestByChat"),
    trackingRecord: loader("trackingRecord"),
    trackingRecordByRequest: loader("trackingRecordByRequest"),
    discussion: loader("discussion"),
    discussionByRequest: loader("discussionByRequest"),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
