import { Field, ID, Int, ObjectType } from "type-graphql";
import { Column, Entity, PrimaryColumn } from "typeorm";

export const DEFAULT_TIMEOUT_SECONDS = 120;
export const MIN_TIMEOUT_SECONDS = 5;
export const MAX_TIMEOUT_SECONDS = 86_400;

@ObjectType({ description: "Per organization: the request timeout and the quick-pick reasons." })
@Entity("assign_discuss_settings")
export class AssignDiscussSettings {
  @Field(() => ID, { name: "id", description: "The organization's id: one settings object per organization (for client caches)." })
  @PrimaryColumn("uuid", { name: "organization_id" })
  organizationId: string;

  @Field(() => Int, { description: "Applies to requests sent from now on (5..86400)." })
  @Column("integer", { name: "assign_request_timeout_seconds" })
  assignRequestTimeoutSeconds: number;

  @Field(() => Int, { description: "The deadline of Discuss requests sent from now on (5..86400; default 120)." })
  @Column("integer", { name: "discuss_request_timeout_seconds" })
  discussRequestTimeoutSeconds: number;

  @Field(() => [String], { description: "Suggestions for the reject popup; the reason itself is free text." })
  @Column("text", { name: "reject_reason_presets", array: true })
  rejectReasonPresets: string[];

  @Field(() => [String], { description: "Suggestions for the withdraw popup." })
  @Column("text", { name: "withdraw_reason_presets", array: true })
  withdrawReasonPresets: string[];

  @Field({ description: "Fallback chains: a rejection moves the chain on, as a timeout does (default false)." })
  @Column("boolean", { name: "fallback_on_reject" })
  fallbackOnReject: boolean;

  @Field({ description: "Fallback chains: when nobody in the list took it, the request goes once to a manager (default false)." })
  @Column("boolean", { name: "fallback_to_managers" })
  fallbackToManagers: boolean;

  @Field({ description: "Requests and bulk assignments to AWAY users are refused with RECIPIENT_UNAVAILABLE (default false)." })
  @Column("boolean", { name: "require_available_recipient" })
  requireAvailableRecipient: boolean;

  @Field({ description: "The organization's IANA time zone (default UTC): the bi views' local dates and times." })
  @Column("text", { name: "time_zone" })
  timeZone: string;

  @Field()
  @Column("timestamptz", { name: "updated_at" })
  updatedAt: Date;
}
