import type { Answer, WrittenRows } from "../engine/answer";
import type { Context } from "./context";

/**
 * Primes the operation's loaders with the rows its write returned: a mutation whose answer asks
 * for the request's record, chat or people costs no statement beyond the write.
 */
export function answerFromWrite(ctx: Context): Answer {
  const prime = ({ requests = [], records = [], chats = [], users = [] }: WrittenRows) => {
    const loaders = ctx.loaders;
    for (const r of requests) loaders.request.clear(r.id).prime(r.id, r);
    for (const t of records) {
      loaders.trackingRecord.clear(t.id).prime(t.id, t);
      if (t.requestId) loaders.trackingRecordByRequest.clear(t.requestId).prime(t.requestId, t);
    }
    for (const c of chats) loaders.chatSession.clear(c.id).prime(c.id, c);
    for (const u of users) loaders.user.clear(u.id).prime(u.id, u);
  };
  // An idempotent mutation's record, owed by the write that commits its effects.
  return Object.assign(prime, { owes: ctx.idempotency?.pending ?? null });
}
