import type { DataSource } from "typeorm";
import { poolSql } from "../../db/sql";
import { NotificationRepository } from "../../repositories/notification.repository";
import type { Page, PageArgs } from "../../kernel/page";
import { requireIds } from "../../validation";
import type { User } from "../users/user.entity";
import type { Notification } from "./notification.entity";

export class NotificationService {
  private readonly repo: NotificationRepository;

  constructor(dataSource: DataSource) {
    this.repo = new NotificationRepository(poolSql(dataSource));
  }

  list(viewer: User, unreadOnly: boolean, page: PageArgs): Promise<Page<Notification>> {
    return this.repo.list(viewer.id, unreadOnly, page);
  }

  /** How many of the viewer's notifications are unread (the inbox's badge). */
  unreadCount(viewer: User): Promise<number> {
    return this.repo.unreadCount(viewer.id);
  }

  /** Marks the viewer's own notifications read; others' ids are ignored. Returns how many changed. */
  async markRead(viewer: User, ids: readonly string[]): Promise<number> {
    const valid = requireIds(ids, "ids", 1000);
    if (valid.length === 0) return 0;
    return this.repo.markRead(viewer.id, valid);
  }
}
