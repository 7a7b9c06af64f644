import DataLoader from "dataloader";
import type { DataSource, EntityTarget, ObjectLiteral } from "typeorm";
import { AssignmentRequest, RequestStatus } from "../modules/assignments/assignment-request.entity";
import { ChatSession } from "../modules/chat-sessions/chat-session.entity";
import { EngagementTrackingRecord } from "../modules/tracking/engagement-tracking-record.entity";
import type { Presence } from "../modules/presence/presence.service";
import { User } from "../modules/users/user.entity";

/**
 * One loader per relation, per GraphQL operation, scoped to the viewer's organization: a page
 * of 100 requests with their chats, people and records costs one statement per relation.
 */
function loader<E extends ObjectLiteral, K extends keyof E & string>(
  dataSource: DataSource,
  entity: EntityTarget<E>,
  key: K,
  organizationId: string,
  where = "",
): DataLoader<string, E | null> {
  return new DataLoader<string, E | null>(async (keys) => {
    const meta = dataSource.getMetadata(entity);
    const column = meta.findColumnWithPropertyName(key)?.databaseName ?? key;
    const rows = await dataSource.manager
      .createQueryBuilder(entity, "e")
      .where(`e.${column} = ANY(:keys)`, { keys: [...keys] })
      .andWhere("e.organization_id = :org", { org: organizationId })
      .andWhere(where || "TRUE")
      .getMany();
    const byKey = new Map(rows.map((row) => [row[key] as string, row]));
    return keys.map((k) => byKey.get(k) ?? null);
  });
}

export function createLoaders(dataSource: DataSource, organizationId: string, presence: Presence) {
  return {
    online: new DataLoader<string, boolean>(async (ids) => {
      const online = await presence.onlineUserIds(ids);
      return ids.map((id) => online.has(id));
    }),
    user: loader(dataSource, User, "id", organizationId),
    chatSession: loader(dataSource, ChatSession, "id", organizationId),
    request: loader(dataSource, AssignmentRequest, "id", organizationId),
    pendingRequestByChat: loader(
      dataSource,
      AssignmentRequest,
      "chatSessionId",
      organizationId,
      `e.status = '${RequestStatus.PENDING}'`,
    ),
    trackingRecord: loader(dataSource, EngagementTrackingRecord, "id", organizationId),
    trackingRecordByRequest: loader(dataSource, EngagementTrackingRecord, "requestId", organizationId),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
