import { Field, Float, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { RecipientType } from "../assignments/assignment-request.entity";
import { TrackingKind, TrackingStatus } from "./engagement-tracking-record.entity";

// The GraphQL shape of engagement-tracking-record.entity.ts's rows (the transport's; the entity knows no GraphQL).

registerEnumType(TrackingKind, { name: "TrackingKind" });

registerEnumType(TrackingStatus, { name: "TrackingStatus" });

@ObjectType("EngagementTrackingRecord", { description: "One handover attempt, kept for reporting; updated at every status change." })
export class EngagementTrackingRecordObject {
  @Field(() => ID)
  id: string;

  @Field(() => TrackingKind)
  kind: TrackingKind;

  @Field(() => TrackingStatus)
  status: TrackingStatus;

  @Field(() => ID, { nullable: true, description: "Set on records written by one bulk assignment." })
  bulkOperationId: string | null;

  @Field(() => RecipientType, { nullable: true })
  recipientType: RecipientType | null;

  @Field(() => String, { nullable: true })
  note: string | null;

  @Field(() => String, { nullable: true })
  reason: string | null;

  @Field()
  requestedAt: Date;

  @Field(() => Date, { nullable: true })
  respondedAt: Date | null;

  @Field(() => Date, { nullable: true })
  expiresAt: Date | null;

  @Field(() => Int, { nullable: true })
  timeoutSeconds: number | null;

  @Field(() => Float, { nullable: true, description: "Seconds from request to a person's response (accept, reject); null when nobody responded." })
  responseSeconds: number | null;

  @Field(() => Float, { nullable: true, description: "Seconds from request to settled, whatever settled it; null while pending." })
  durationSeconds: number | null;

  @Field(() => Boolean, { nullable: true, description: "Whether the reason was one of the organization's quick picks (null without a reason)." })
  reasonIsPreset: boolean | null;

  @Field(() => ID, { nullable: true, description: "Fallback chains: the request of the hop before this one (null for a chain's first request)." })
  previousRequestId: string | null;

  @Field(() => Int, { description: "Fallback chains: 1 for the sender's own request, 2 for the first hop, and so on." })
  hop: number;

  @Field(() => ID, { nullable: true, description: "DISCUSS requests: the discussion their accept opened." })
  discussionId: string | null;

  @Field(() => Date, { nullable: true, description: "DISCUSS requests: when the discussion ended." })
  endedAt: Date | null;

  @Field(() => String, { nullable: true, description: "DISCUSS requests: why the discussion ended." })
  endReason: string | null;

  @Field(() => Int, { nullable: true, description: "DISCUSS requests: messages written in the discussion." })
  messageCount: number | null;

  @Field(() => String, {
    nullable: true,
    description: "A manager's or admin's override (`override: true`): the loop rule this handover would otherwise have broken, HANDOVER_LOOP or HANDOVER_LIMIT_REACHED; null when none was.",
  })
  overriddenRule: string | null;

  @Field()
  createdAt: Date;

  @Field()
  updatedAt: Date;
}
