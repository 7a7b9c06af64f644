import { Field, Int, ObjectType } from "type-graphql";
import { Column, Entity, PrimaryColumn } from "typeorm";

export const DEFAULT_TIMEOUT_SECONDS = 120;
export const MIN_TIMEOUT_SECONDS = 5;
export const MAX_TIMEOUT_SECONDS = 86_400;

@ObjectType({ description: "Per organization: the request timeout and the quick-pick reasons." })
@Entity("assign_discuss_settings")
export class AssignDiscussSettings {
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

  @Field()
  @Column("timestamptz", { name: "updated_at" })
  updatedAt: Date;
}
