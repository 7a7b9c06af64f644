import { Arg, Ctx, Field, FieldResolver, ID, InputType, Int, Mutation, ObjectType, registerEnumType, Resolver, Root } from "type-graphql";
import { type Context, viewerOf } from "../../graphql/context";
import { EngagementTrackingRecord } from "../tracking/engagement-tracking-record.entity";
import { BulkOutcome } from "./bulk-assign.service";
import { EngagementTrackingRecordObject } from "../tracking/engagement-tracking-record.graphql";

registerEnumType(BulkOutcome, {
  name: "BulkAssignOutcome",
  description:
    "ASSIGNED: moved. ALREADY_OWNER: the target owns it already. NOT_FOUND: no such chat in your organization (or a malformed id). CHAT_CLOSED: closed chats are not moved. FORBIDDEN: users move only chats they own. " +
    "HANDOVER_LOOP: the target handed this chat to its owner within pingPongMinutes. HANDOVER_LIMIT_REACHED: the chat was moved maxHandoversPerChatPerDay times in 24 h. " +
    "RECIPIENT_AT_CAPACITY: with enforceCapacity, the target's open chats reached their limit (the chats listed before it were moved).",
});

@InputType()
export class BulkAssignChatsInput {
  @Field(() => [ID], { description: "1..10,000 ids; duplicates count once." })
  chatSessionIds: string[];

  @Field(() => ID)
  toUserId: string;

  @Field(() => String, { nullable: true, description: "The same key again returns the first call's result and changes nothing." })
  idempotencyKey?: string | null;

  @Field(() => Boolean, {
    nullable: true,
    description: "Managers and admins: move even where the loop rule refuses; each tracking record keeps the rule overridden (overriddenRule). Others: FORBIDDEN.",
  })
  override?: boolean | null;
}

@ObjectType()
export class BulkAssignItem {
  @Field(() => ID)
  chatSessionId: string;

  @Field(() => BulkOutcome)
  outcome: BulkOutcome;

  trackingRecordId: string | null;
}

@ObjectType()
export class BulkAssignResult {
  @Field(() => ID, { description: "Also on each tracking record written (bulkOperationId)." })
  operationId: string;

  @Field(() => Int)
  assignedCount: number;

  @Field(() => Int)
  skippedCount: number;

  @Field({ description: "True when this answers a repeated idempotencyKey." })
  replayed: boolean;

  @Field(() => [BulkAssignItem], { description: "One per distinct id, in the order given." })
  results: BulkAssignItem[];
}

@Resolver(() => BulkAssignItem)
export class BulkAssignResolver {
  @Mutation(() => BulkAssignResult, {
    description:
      "OOB Assign: moves chats directly, no request. Managers and admins move any open chat of the organization; users only their own.",
  })
  bulkAssignChats(@Arg("input", () => BulkAssignChatsInput) input: BulkAssignChatsInput, @Ctx() ctx: Context) {
    return ctx.services.bulk.bulkAssign(viewerOf(ctx), input);
  }

  @FieldResolver(() => EngagementTrackingRecordObject, { nullable: true })
  async trackingRecord(@Root() item: BulkAssignItem, @Ctx() ctx: Context): Promise<EngagementTrackingRecord | null> {
    return item.trackingRecordId ? ctx.loaders.trackingRecord.load(item.trackingRecordId) : null;
  }
}
