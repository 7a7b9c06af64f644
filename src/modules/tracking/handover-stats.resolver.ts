import { Arg, Ctx, FieldResolver, ID, Query, Resolver, Root } from "type-graphql";
import { type Context, viewerOf } from "../../graphql/context";
import type { User } from "../users/user.entity";
import { UserObject } from "../users/user.graphql";
import { HandoverStatsGrouping, type HandoverStatsRow, type ReasonCount } from "./handover-stats.model";
import { HandoverStatsRowObject, ReasonCountObject } from "./handover-stats.graphql";

@Resolver(() => HandoverStatsRowObject)
export class HandoverStatsResolver {
  @Query(() => [HandoverStatsRowObject], {
    description:
      "Who hands chats to whom, how often they are accepted and how fast, for handovers requested in [from, to) (at most 366 days). Managers and admins count the organization's handovers; a user only those they sent or received.",
  })
  handoverStats(
    @Ctx() ctx: Context,
    @Arg("from", () => Date) from: Date,
    @Arg("to", () => Date) to: Date,
    @Arg("groupBy", () => HandoverStatsGrouping) groupBy: HandoverStatsGrouping,
    @Arg("senderId", () => ID, { nullable: true }) senderId?: string | null,
    @Arg("recipientId", () => ID, { nullable: true }) recipientId?: string | null,
  ): Promise<HandoverStatsRow[]> {
    return ctx.services.tracking.handoverStats(viewerOf(ctx), { from, to, groupBy, senderId, recipientId });
  }

  @Query(() => [ReasonCountObject], {
    description:
      "Why requests were rejected in [from, to) (at most 366 days): each reason and how often, most given first (at most 20). Managers and admins count the organization's; a user only requests they sent or received.",
  })
  rejectReasons(@Ctx() ctx: Context, @Arg("from", () => Date) from: Date, @Arg("to", () => Date) to: Date): Promise<ReasonCount[]> {
    return ctx.services.tracking.rejectReasons(viewerOf(ctx), { from, to });
  }

  @FieldResolver(() => UserObject, { nullable: true, description: "SENDER and PAIR rows; null when the user was deleted." })
  async sender(@Root() row: HandoverStatsRow, @Ctx() ctx: Context): Promise<User | null> {
    return row.senderId ? ctx.loaders.user.load(row.senderId) : null;
  }

  @FieldResolver(() => UserObject, { nullable: true, description: "RECIPIENT and PAIR rows; null when the user was deleted." })
  async recipient(@Root() row: HandoverStatsRow, @Ctx() ctx: Context): Promise<User | null> {
    return row.recipientId ? ctx.loaders.user.load(row.recipientId) : null;
  }
}
