import type { DataSource } from "typeorm";
import { badInput } from "../../errors";
import { poolSql } from "../../db/sql";
import { TrackingRepository } from "../../repositories/tracking.repository";
import type { Page, PageArgs } from "../../kernel/page";
import { requireId } from "../../validation";
import type { User } from "../users/user.entity";
import { partyFilter } from "../../policy/access";
import type { EngagementTrackingRecord, TrackingKind, TrackingStatus } from "./engagement-tracking-record.entity";
import { HandoverStatsRepository } from "../../repositories/handover-stats.repository";
import type { HandoverStatsGrouping, HandoverStatsRow, ReasonCount } from "./handover-stats.model";

/** The longest period handoverStats covers in one call. */
export const MAX_STATS_DAYS = 366;

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
  private readonly stats: HandoverStatsRepository;

  constructor(dataSource: DataSource) {
    this.repo = new TrackingRepository(poolSql(dataSource));
    this.stats = new HandoverStatsRepository(poolSql(dataSource));
  }

  /**
   * Handovers requested in [from, to), grouped (issue #24). Managers and admins count the
   * organization's; a user counts only the handovers they sent or received (partyFilter), so a
   * user's SENDER rows are their own and, for others, only what those others sent them.
   */
  /** Why requests were rejected in [from, to): each reason and how often (the same limits and party rule as handoverStats). */
  rejectReasons(viewer: User, args: { from: Date; to: Date }): Promise<ReasonCount[]> {
    if (!(args.from < args.to)) throw badInput("to must be after from", "to");
    if (args.to.getTime() - args.from.getTime() > MAX_STATS_DAYS * 86_400_000) throw badInput(`A period covers at most ${MAX_STATS_DAYS} days`, "to");
    return this.stats.rejectReasons({ organizationId: viewer.organizationId, partyId: partyFilter(viewer), from: args.from, to: args.to });
  }

  handoverStats(
    viewer: User,
    args: { from: Date; to: Date; groupBy: HandoverStatsGrouping; senderId?: string | null; recipientId?: string | null },
  ): Promise<HandoverStatsRow[]> {
    if (!(args.from < args.to)) throw badInput("to must be after from", "to");
    if (args.to.getTime() - args.from.getTime() > MAX_STATS_DAYS * 86_400_000) throw badInput(`A period covers at most ${MAX_STATS_DAYS} days`, "to");
    return this.stats.rows({
      organizationId: viewer.organizationId,
      partyId: partyFilter(viewer),
      from: args.from,
      to: args.to,
      groupBy: args.groupBy,
      senderId: args.senderId ? requireId(args.senderId, "senderId") : null,
      recipientId: args.recipientId ? requireId(args.recipientId, "recipientId") : null,
    });
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
