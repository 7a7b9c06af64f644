import type { DataSource } from "typeorm";
import { poolSql, type Sql } from "../../db/sql";
import { HandoverRepository } from "../../repositories/handover.repository";
import type { Page, PageArgs } from "../../kernel/page";
import { requireId } from "../../validation";
import type { User } from "../users/user.entity";
import { partyFilter } from "../../policy/access";
import type { AssignmentRequest, RequestKind, RequestStatus } from "./assignment-request.entity";

export enum RequestDirection {
  INCOMING = "INCOMING",
  OUTGOING = "OUTGOING",
  ALL = "ALL",
}

export interface AssignmentRequestFilterData {
  direction?: RequestDirection | null;
  status?: RequestStatus | null;
  kind?: RequestKind | null;
  chatSessionId?: string | null;
}

export class AssignmentQueryService {
  private readonly repo = new HandoverRepository();
  private readonly db: Sql;

  constructor(dataSource: DataSource) {
    this.db = poolSql(dataSource);
  }

  /** Requests pending now, in every organization (an operator's figure: the metrics gauge). */
  countPending(): Promise<number> {
    return this.repo.countPending(this.db);
  }

  /**
   * INCOMING: sent to me. OUTGOING: sent by me. ALL: both for users; the whole organization for
   * managers and admins, who oversee every handover.
   */
  list(viewer: User, filter: AssignmentRequestFilterData | null | undefined, page: PageArgs): Promise<Page<AssignmentRequest>> {
    const direction = filter?.direction ?? RequestDirection.ALL;
    return this.repo.list(
      this.db,
      {
        organizationId: viewer.organizationId,
        recipientId: direction === RequestDirection.INCOMING ? viewer.id : null,
        senderId: direction === RequestDirection.OUTGOING ? viewer.id : null,
        partyId: direction === RequestDirection.ALL ? partyFilter(viewer) : null,
        status: filter?.status ?? null,
        kind: filter?.kind ?? null,
        chatSessionId: filter?.chatSessionId ? requireId(filter.chatSessionId, "chatSessionId") : null,
      },
      page,
    );
  }
}
