import type { DataSource } from "typeorm";
import { badInput } from "../../errors";
import { poolSql } from "../../db/sql";
import { TrackingRepository } from "../../repositories/tracking.repository";
import type { Page, PageArgs } from "../../kernel/page";
import { requireId } from "../../validation";
import type { User } from "../users/user.entity";
import { partyFilter } from "../../policy/access";
import type { EngagementTrackingRecord, TrackingKind, TrackingStatus } from "./engagement-tracking-record.entity";

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
  private readonly repo: TrackingRepository;

  constructor(dataSource: DataSource) {
    this.repo = new TrackingRepository(poolSql(dataSource));
  }

  /** Newest first. Managers and admins read the organization's records; users those they took part in. */
  list(viewer: User, filter: TrackingFilterData | null | undefined, page: PageArgs): Promise<Page<EngagementTrackingRecord>> {
    if (filter?.from && filter?.to && filter.from > filter.to) throw badInput("from must not be after to", "from");
    return this.repo.list(
      {
        organizationId: viewer.organizationId,
        partyId: partyFilter(viewer),
        chatSessionId: filter?.chatSessionId ? requireId(filter.chatSessionId, "chatSessionId") : null,
        userId: filter?.userId ? requireId(filter.userId, "userId") : null,
        status: filter?.status ?? null,
        kind: filter?.kind ?? null,
        bulkOperationId: filter?.bulkOperationId ? requireId(filter.bulkOperationId, "bulkOperationId") : null,
        from: filter?.from ?? null,
        to: filter?.to ?? null,
      },
      page,
    );
  }
}
