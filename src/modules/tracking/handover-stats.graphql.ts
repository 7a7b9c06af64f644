import { Field, Float, Int, ObjectType, registerEnumType } from "type-graphql";
import { HandoverStatsGrouping } from "./handover-stats.model";

// The GraphQL shape of handover-stats.model.ts (issue #24).

registerEnumType(HandoverStatsGrouping, {
  name: "HandoverStatsGrouping",
  valuesConfig: {
    SENDER: { description: "A row per sender (who sent the request or made the direct move)." },
    RECIPIENT: { description: "A row per recipient." },
    PAIR: { description: "A row per sender and recipient." },
    DAY: { description: "A row per day, in the organization's time zone." },
  },
});

@ObjectType("HandoverStatsRow", {
  description:
    "Handovers (requests to assign and direct assignments, not discussions) requested in the period. `handovers` counts them all; accepted, rejected, timedOut and withdrawn count requests that ended so (the rest are pending, cancelled or direct).",
})
export class HandoverStatsRowObject {
  senderId: string | null;
  recipientId: string | null;

  @Field(() => String, { nullable: true, description: "YYYY-MM-DD in the organization's time zone (DAY only)." })
  day: string | null;

  @Field(() => Int)
  handovers: number;

  @Field(() => Int)
  accepted: number;

  @Field(() => Int)
  rejected: number;

  @Field(() => Int)
  timedOut: number;

  @Field(() => Int)
  withdrawn: number;

  @Field(() => Float, { nullable: true, description: "accepted / (accepted + rejected + timedOut), 0 to 1; null when none of those." })
  acceptanceRate: number | null;

  @Field(() => Float, { nullable: true, description: "Over accepted requests: seconds from request to acceptance." })
  medianSecondsToAccept: number | null;

  @Field(() => Float, { nullable: true })
  p90SecondsToAccept: number | null;
}

@ObjectType("ReasonCount", { description: "How often one reason was given." })
export class ReasonCountObject {
  @Field({ description: 'As written; "" when none was.' })
  reason: string;

  @Field(() => Int)
  count: number;

  @Field({ description: "One of the organization's quick picks." })
  preset: boolean;
}
