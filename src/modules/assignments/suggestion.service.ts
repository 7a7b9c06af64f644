import type { DataSource } from "typeorm";
import { poolSql } from "../../db/sql";
import { requireAssignable } from "../../engine/decide";
import { receivingGuard } from "../../engine/rules";
import { replyWindow } from "../../engine/reply-window";
import { MAX_SUGGESTIONS, reasonsOf, urgentWindow, SUGGESTION_HISTORY_DAYS, SUGGESTION_WEIGHT_LIST, type Suggestion } from "../../engine/suggest";
import { badInput } from "../../errors";
import { ChatRepository } from "../../repositories/chat.repository";
import { SuggestionRepository } from "../../repositories/suggestion.repository";
import { requireId } from "../../validation";
import type { Presence } from "../presence/presence.service";
import type { SettingsService } from "../settings/settings.service";
import { TrackingKind } from "../tracking/engagement-tracking-record.entity";
import type { User } from "../users/user.entity";
import { type RecipientType, RequestKind } from "./assignment-request.entity";

/** The tracking records of a kind's requests (a direct move is a handover too). */
const HISTORY_KINDS: Record<RequestKind, TrackingKind[]> = {
  [RequestKind.ASSIGN]: [TrackingKind.ASSIGN_REQUEST, TrackingKind.DIRECT_ASSIGN],
  [RequestKind.DISCUSS]: [TrackingKind.DISCUSS_REQUEST],
};

/**
 * Who should take a chat (issue #24): asked by whoever may hand it over now, answered with the
 * people the receiving rule allows now, ranked by the documented score (src/engine/suggest.ts).
 */
export class SuggestionService {
  private readonly chats: ChatRepository;
  private readonly repo: SuggestionRepository;

  constructor(
    dataSource: DataSource,
    private readonly settings: SettingsService,
    private readonly presence: Presence,
  ) {
    const sql = poolSql(dataSource);
    this.chats = new ChatRepository(sql);
    this.repo = new SuggestionRepository(sql);
  }

  async suggest(viewer: User, args: { chatSessionId: string; kind: RequestKind; recipientType: RecipientType; first: number }): Promise<Suggestion[]> {
    const chatId = requireId(args.chatSessionId, "chatSessionId");
    if (!Number.isInteger(args.first) || args.first < 1 || args.first > MAX_SUGGESTIONS) throw badInput(`first must be between 1 and ${MAX_SUGGESTIONS}`, "first");
    const now = new Date();
    const organizationId = viewer.organizationId;
    const guard = receivingGuard(args.recipientType, viewer.id, "setting", args.kind === RequestKind.ASSIGN);
    // The chat (whether the answer is given at all), its window's length and who may receive it, at once.
    const [chat, settings, ids] = await Promise.all([
      this.chats.findById(organizationId, chatId),
      this.settings.get(organizationId),
      this.repo.receivers(organizationId, chatId, guard),
    ]);
    requireAssignable(viewer, chat);
    if (ids.length === 0) return [];
    const closesIn = urgentWindow(replyWindow(chat!.lastCustomerMessageAt, settings.replyWindowHours, now), now);
    const online = await this.presence.onlineUserIds(ids);
    const rows = await this.repo.ranked({
      organizationId,
      chatId,
      guard,
      senderId: viewer.id,
      since: new Date(now.getTime() - SUGGESTION_HISTORY_DAYS * 86_400_000),
      online: [...online],
      first: args.first,
      kinds: HISTORY_KINDS[args.kind],
      weights: SUGGESTION_WEIGHT_LIST,
      freeFirst: closesIn !== null,
    });
    return rows.map((r) => ({ id: r.id, score: r.score, reasons: reasonsOf(r, closesIn) }));
  }
}
