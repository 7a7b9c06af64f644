import type { DataSource } from "typeorm";
import { newestFirst } from "../../db/keyset";
import type { Page, PageArgs } from "../../kernel/page";
import { requireId } from "../../validation";
import type { User } from "../users/user.entity";
import { partyFilter } from "../../policy/access";
import { AssignmentRequest, type RequestStatus } from "./assignment-request.entity";

export enum RequestDirection {
  INCOMING = "INCOMING",
  OUTGOING = "OUTGOING",
  ALL = "ALL",
}

export interface AssignmentRequestFilterData {
  direction?: RequestDirection | null;
  status?: RequestStatus | null;
  chatSessionId?: string | null;
}

export class AssignmentQueryService {
  constructor(private readonly dataSource: DataSource) {}

  /** Requests pending now, in every organization (an operator's figure: the metrics gauge). */
  async countPending(): Promise<number> {
    const [row] = await this.dataSource.query<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM assignment_requests WHERE status = 'PENDING'`);
    return row?.n ?? 0;
  }

  /**
   * INCOMING: sent to me. OUTGOING: sent by me. ALL: both for users; the whole organization for
   * managers and admins, who oversee every handover.
   */
  async list(
    viewer: User,
    filter: AssignmentRequestFilterData | null | undefined,
    page: PageArgs,
  ): Promise<Page<AssignmentRequest>> {
    const q = this.dataSource.manager
      .createQueryBuilder(AssignmentRequest, "r")
      .where("r.organization_id = :org", { org: viewer.organizationId });
    const direction = filter?.direction ?? RequestDirection.ALL;
    switch (direction) {
      case RequestDirection.INCOMING:
        q.andWhere("r.recipient_id = :me", { me: viewer.id });
        break;
      case RequestDirection.OUTGOING:
        q.andWhere("r.sender_id = :me", { me: viewer.id });
        break;
      case RequestDirection.ALL:
        if (partyFilter(viewer)) q.andWhere("(r.sender_id = :me OR r.recipient_id = :me)", { me: viewer.id });
        break;
    }
    if (filter?.status) q.andWhere("r.status = :status", { status: filter.status });
    if (filter?.chatSessionId) {
      q.andWhere("r.chat_session_id = :chat", { chat: requireId(filter.chatSessionId, "chatSessionId") });
    }
    return newestFirst(q, page);
  }
}
