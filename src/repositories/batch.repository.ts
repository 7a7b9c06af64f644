import { fromRow } from "../db/hydrate";
import type { Sql, Statement } from "../db/sql";
import { AssignmentRequest, RequestKind, RequestStatus } from "../modules/assignments/assignment-request.entity";
import { Discussion } from "../modules/discussions/discussion.entity";
import { ChatSession } from "../modules/chat-sessions/chat-session.entity";
import { EngagementTrackingRecord } from "../modules/tracking/engagement-tracking-record.entity";
import { User } from "../modules/users/user.entity";

/** One relation read for many keys at once, within one organization (what a page's loaders ask). */
interface Relation<T extends object> {
  target: new () => T;
  statement: Statement;
  /** The column whose value each row is found by. */
  key: string;
}

function relation<T extends object>(target: new () => T, table: string, key: string, extra = ""): Relation<T> {
  return {
    target,
    key,
    statement: {
      name: `batch.${table}.${key}${extra ? ".filtered" : ""}`,
      text: `SELECT * FROM ${table} WHERE ${key} = ANY($1::uuid[]) AND organization_id = $2${extra ? ` AND ${extra}` : ""}`,
    },
  };
}

export const RELATIONS = {
  user: relation(User, "users", "id"),
  chatSession: relation(ChatSession, "chat_sessions", "id"),
  request: relation(AssignmentRequest, "assignment_requests", "id"),
  /** The next hop of a chain, by the request before it. */
  nextRequest: relation(AssignmentRequest, "assignment_requests", "previous_request_id"),
  /** A chat's pending ASSIGN request (its pending DISCUSS request is listed by assignmentRequests). */
  pendingRequestByChat: relation(AssignmentRequest, "assignment_requests", "chat_session_id", `status = '${RequestStatus.PENDING}' AND kind = '${RequestKind.ASSIGN}'`),
  discussion: relation(Discussion, "discussions", "id"),
  discussionByRequest: relation(Discussion, "discussions", "request_id"),
  trackingRecord: relation(EngagementTrackingRecord, "engagement_tracking_records", "id"),
  trackingRecordByRequest: relation(EngagementTrackingRecord, "engagement_tracking_records", "request_id"),
};

export class BatchRepository {
  constructor(private readonly db: Sql) {}

  /** The rows of `relation` for these keys, in the keys' order (null where none). */
  async byKeys<T extends object>(relation: Relation<T>, organizationId: string, keys: readonly string[]): Promise<Array<T | null>> {
    const rows = await this.db.rows<Record<string, unknown>>(relation.statement, [keys, organizationId]);
    const byKey = new Map(rows.map((row) => [row[relation.key] as string, fromRow(relation.target, row)]));
    return keys.map((k) => byKey.get(k) ?? null);
  }
}
