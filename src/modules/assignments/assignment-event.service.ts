import type { DataSource } from "typeorm";
import { badInput } from "../../errors";
import { assertScope, EventScope } from "./event-visibility";
import type { User } from "../users/user.entity";
import { AssignmentEvent } from "./assignment-event.entity";

export const MAX_CATCH_UP = 500;

export class AssignmentEventService {
  constructor(private readonly dataSource: DataSource) {}

  /** Exactly what `assignmentEvents(scope)` would have delivered after `after`, in sequence order. */
  async since(viewer: User, scope: EventScope, after: string | null, first: number): Promise<AssignmentEvent[]> {
    assertScope(viewer, scope);
    if (after !== null && !/^\d{1,19}$/.test(after)) throw badInput("after must be a sequence returned by an event", "after");
    if (!Number.isInteger(first) || first < 1 || first > MAX_CATCH_UP) {
      throw badInput(`first must be between 1 and ${MAX_CATCH_UP}`, "first");
    }
    const q = this.dataSource.manager
      .createQueryBuilder(AssignmentEvent, "e")
      .where("e.organization_id = :org", { org: viewer.organizationId })
      .andWhere("e.sequence > :after", { after: after ?? "0" })
      .orderBy("e.sequence", "ASC")
      .limit(first);
    if (scope === EventScope.MINE) q.andWhere("(e.from_user_id = :me OR e.to_user_id = :me)", { me: viewer.id });
    return q.getMany();
  }
}
