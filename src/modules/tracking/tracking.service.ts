import type { DataSource } from "typeorm";
import { badInput } from "../../errors";
import { newestFirst } from "../../db/keyset";
import type { Page, PageArgs } from "../../kernel/page";
import { requireId } from "../../validation";
import type { User } from "../users/user.entity";
import { partyFilter } from "../../policy/access";
import { EngagementTrackingRecord, type TrackingKind, type TrackingStatus } from "./engagement-tracking-record.entity";

export interface TrackingFilterData {
  chatSessionId?: string | null;
  /** As sender (from), recipient (to) or initiator. */
  userId?: string | null;
  status?: TrackingStatus | null;
  kind?: TrackingKind | null;
  from?: Date | null;
  to?: Date | null;
  bulkOperationId?: string | null;
}

export class TrackingService {
  constructor(private readonly dataSource: DataSource) {}

  /** Newest first. Managers and admins read the organization's records; users those they took part in. */
  async list(viewer: User, filter: TrackingFilterData | null | undefined, page: PageArgs): Promise<Page<EngagementTrackingRecord>> {
    const q = this.dataSource.manager
      .createQueryBuilder(EngagementTrackingRecord, "t")
      .where("t.organization_id = :org", { org: viewer.organizationId });
    const me = partyFilter(viewer);
    if (me) q.andWhere("(t.initiated_by_id = :me OR t.from_user_id = :me OR t.to_user_id = :me)", { me });
    if (filter?.chatSessionId) q.andWhere("t.chat_session_id = :chat", { chat: requireId(filter.chatSessionId, "chatSessionId") });
    if (filter?.userId) {
      q.andWhere("(t.initiated_by_id = :user OR t.from_user_id = :user OR t.to_user_id = :user)", {
        user: requireId(filter.userId, "userId"),
      });
    }
    if (filter?.status) q.andWhere("t.status = :status", { status: filter.status });
    if (filter?.kind) q.andWhere("t.kind = :kind", { kind: filter.kind });
    if (filter?.bulkOperationId) {
      q.andWhere("t.bulk_operation_id = :op", { op: requireId(filter.bulkOperationId, "bulkOperationId") });
    }
    if (filter?.from && filter?.to && filter.from > filter.to) throw badInput("from must not be after to", "from");
    if (filter?.from) q.andWhere("t.created_at >= :from", { from: filter.from });
    if (filter?.to) q.andWhere("t.created_at < :to", { to: filter.to });
    return newestFirst(q, page);
  }
}
