import type { DataSource } from "typeorm";
import { poolSql } from "../../db/sql";
import { requireAssignable } from "../../engine/decide";
import { limitReached, pingPongTo, receivingGuard } from "../../engine/rules";
import { replyWindow } from "../../engine/reply-window";
import { MAX_SUGGESTIONS, reasonsOf, urgentWindow, SUGGESTION_HISTORY_DAYS, SUGGESTION_WEIGHT_LIST, type Suggestion } from "../../engine/suggest";
import { badInput } from "../../errors";
import { ChatRepository } from "../../repositories/chat.repository";
import { SuggestionRepository } from "../../repositories/suggestion.repository";
import { MovesRepository } from "../../repositories/moves.repository";
import { requireId } from "../../validation";
import type { Presence } from "../presence/presence.service";
import type { SettingsService } from "../settings/settings.service";
import { TrackingKind } from "../tracking/engagement-tracking-record.entity";
import { MAX_HANDOVERS_PER_CHAT_PER_DAY_LIMIT } from "../settings/assign-discuss-settings.entity";
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
  private readonly moves: MovesRepository;

  constructor(
    dataSource: DataSource,
    private readonly settings: SettingsService,
    private readonly presence: Presence,
  ) {
    const sql = poolSql(dataSource);
    this.chats = new ChatRepository(sql);
    this.repo = new SuggestionRepository(sql);
    this.moves = new MovesRepository(sql);
  }

  async suggest(viewer: User, args: { chatSessionId: string; kind: RequestKind; recipientType: RecipientType; first: number }): Promise<Suggestion[]> {
    const chatId = requireId(args.chatSessionId, "chatSessionId");
    if (!Number.isInteger(args.first) || args.first < 1 || args.first > MAX_SUGGESTIONS) throw badInput(`first must be between 1 and ${MAX_SUGGESTIONS}`, "first");
    const now = new Date();
    const organizationId = viewer.organizationId;
    const handover = args.kind === RequestKind.ASSIGN;
    let guard = receivingGuard(args.recipientType, viewer.id, "setting", handover);
    // The chat (whether the answer is given at all), its window's length, its moves (the loop rule)
    // and who may receive it, at once.
    const [chat, settings, ids, moves] = await Promise.all([
      this.chats.findById(organizationId, chatId),
      this.settings.get(organizationId),
      this.repo.receivers(organizationId, chatId, guard),
      handover ? this.moves.ofChats([chatId], now, MAX_HANDOVERS_PER_CHAT_PER_DAY_LIMIT) : null,
    ]);
    requireAssignable(viewer, chat);
    // Never what the loop rule forbids: nobody once the chat reached its limit for the day, and
    // never the one it would bounce straight back to.
    const chatMoves = moves?.get(chatId);
    let receivers = ids;
    if (chatMoves) {
      if (limitReached(chatMoves, settings)) return [];
      const back = pingPongTo(chatMoves, chat!.ownerId, settings, now);
      if (back) {
        receivers = ids.filter((id) => id !== back.userId);
        guard = { ...guard, notIds: [...guard.notIds, back.userId] };
      }
    }
    if (receivers.length === 0) return [];
    const closesIn = urgentWindow(replyWindow(chat!.lastCustomerMessageAt, settings.replyWindowHours, now), now);
    const online = await this.presence.onlineUserIds(receivers);
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
