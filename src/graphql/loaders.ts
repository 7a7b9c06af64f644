import DataLoader from "dataloader";
import type { Presence } from "../modules/presence/presence.service";
import { type BatchRepository, RELATIONS } from "../repositories/batch.repository";

/**
 * One loader per relation, per GraphQL operation, scoped to the viewer's organization: a page
 * of 100 requests with their chats, people and records costs one statement per relation.
 */
export function createLoaders(batch: BatchRepository, organizationId: string, presence: Presence) {
  const loader = <T extends object>(relation: (typeof RELATIONS)[keyof typeof RELATIONS] & { target: new () => T }) =>
    new DataLoader<string, T | null>((keys) => batch.byKeys(relation, organizationId, keys));
  return {
    online: new DataLoader<string, boolean>(async (ids) => {
      const online = await presence.onlineUserIds(ids);
      return ids.map((id) => online.has(id));
    }),
    user: loader(RELATIONS.user),
    chatSession: loader(RELATIONS.chatSession),
    request: loader(RELATIONS.request),
    nextRequest: loader(RELATIONS.nextRequest),
    pendingRequestByChat: loader(RELATIONS.pendingRequestByChat),
    trackingRecord: loader(RELATIONS.trackingRecord),
    trackingRecordByRequest: loader(RELATIONS.trackingRecordByRequest),
    discussion: loader(RELATIONS.discussion),
    discussionByRequest: loader(RELATIONS.discussionByRequest),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
