import type { DataSource } from "typeorm";
import { newestFirst } from "../../db/keyset";
import type { Page, PageArgs } from "../../kernel/page";
import { requireIds } from "../../validation";
import type { User } from "../users/user.entity";
import { Notification } from "./notification.entity";

export class NotificationService {
  constructor(private readonly dataSource: DataSource) {}

  async list(viewer: User, unreadOnly: boolean, page: PageArgs): Promise<Page<Notification>> {
    const q = this.dataSource.manager
      .createQueryBuilder(Notification, "n")
      .where("n.user_id = :me", { me: viewer.id });
    if (unreadOnly) q.andWhere("n.read_at IS NULL");
    return newestFirst(q, page);
  }

  /** Marks the viewer's own notifications read; others' ids are ignored. Returns how many changed. */
  async markRead(viewer: User, ids: readonly string[]): Promise<number> {
    const valid = requireIds(ids, "ids", 1000);
    if (valid.length === 0) return 0;
    const [, affected] = await this.dataSource.manager.query<[unknown, number]>(
      `UPDATE notifications SET read_at = now() WHERE user_id = $1 AND id = ANY($2::uuid[]) AND read_at IS NULL`,
      [viewer.id, valid],
    );
    return affected;
  }
}
