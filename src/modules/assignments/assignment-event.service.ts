import type { DataSource } from "typeorm";
import { badInput } from "../../errors";
import { assertScope, EventScope } from "./event-visibility";
import type { User } from "../users/user.entity";
import type { AssignmentEvent } from "./assignment-event.entity";
import { poolSql } from "../../db/sql";
import { EventRepository } from "../../repositories/events.repository";

export const MAX_CATCH_UP = 500;

export class AssignmentEventService {
  private readonly repo: EventRepository;

  constructor(dataSource: DataSource) {
    this.repo = new EventRepository(poolSql(dataSource));
  }

  /** Where "now" is in the viewer's organization's event log: resume from it with assignmentEventsSince. */
  head(viewer: User): Promise<string | null> {
    return this.repo.head(viewer.organizationId);
  }

  /** Exactly what `assignmentEvents(scope)` would have delivered after `after`, in sequence order. */
  async since(viewer: User, scope: EventScope, after: string | null, first: number): Promise<AssignmentEvent[]> {
    assertScope(viewer, scope);
    if (after !== null && !/^\d{1,19}$/.test(after)) throw badInput("after must be a sequence returned by an event", "after");
    if (!Number.isInteger(first) || first < 1 || first > MAX_CATCH_UP) {
      throw badInput(`first must be between 1 and ${MAX_CATCH_UP}`, "first");
    }
    return this.repo.since(viewer.organizationId, after ?? "0", first, scope === EventScope.MINE ? viewer.id : null);
  }
}
