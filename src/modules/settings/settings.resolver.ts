import { Arg, Ctx, Field, InputType, Int, Mutation, Query, Resolver } from "type-graphql";
import { type Context, viewerOf } from "../../graphql/context";
import { AssignDiscussSettings } from "./assign-discuss-settings.entity";
import { AssignDiscussSettingsObject } from "./assign-discuss-settings.graphql";

@InputType()
export class AssignDiscussSettingsInput {
  @Field(() => Int, { nullable: true, description: "5..86400; applies to requests sent afterwards." })
  assignRequestTimeoutSeconds?: number | null;

  @Field(() => Int, { nullable: true, description: "5..86400; applies to Discuss requests sent afterwards." })
  discussRequestTimeoutSeconds?: number | null;

  @Field(() => Boolean, { nullable: true })
  fallbackOnReject?: boolean | null;

  @Field(() => Boolean, { nullable: true })
  fallbackToManagers?: boolean | null;

  @Field(() => Boolean, { nullable: true })
  requireAvailableRecipient?: boolean | null;

  @Field(() => Boolean, { nullable: true })
  enforceCapacity?: boolean | null;

  @Field(() => Int, { nullable: true, description: "0..168; 0: the channel has no reply window." })
  replyWindowHours?: number | null;

  @Field(() => Boolean, { nullable: true })
  capDeadlineAtReplyWindow?: boolean | null;

  @Field(() => Int, { nullable: true, description: "0..10000; 0: no limit." })
  defaultMaxOpenChats?: number | null;

  @Field(() => Int, { nullable: true, description: "0..1000; 0: no limit." })
  maxHandoversPerChatPerDay?: number | null;

  @Field(() => Int, { nullable: true, description: "0..1440; 0: off." })
  pingPongMinutes?: number | null;

  @Field(() => String, { nullable: true, description: "An IANA time zone, e.g. Europe/Berlin." })
  timeZone?: string | null;

  @Field(() => [String], { nullable: true })
  rejectReasonPresets?: string[] | null;

  @Field(() => [String], { nullable: true })
  withdrawReasonPresets?: string[] | null;
}

@Resolver(() => AssignDiscussSettingsObject)
export class SettingsResolver {
  @Query(() => AssignDiscussSettingsObject)
  assignDiscussSettings(@Ctx() ctx: Context): Promise<AssignDiscussSettings> {
    return ctx.services.settings.get(viewerOf(ctx).organizationId);
  }

  @Mutation(() => AssignDiscussSettingsObject, { description: "Admins only. Omitted fields keep their value." })
  updateAssignDiscussSettings(
    @Arg("input", () => AssignDiscussSettingsInput) input: AssignDiscussSettingsInput,
    @Ctx() ctx: Context,
  ): Promise<AssignDiscussSettings> {
    return ctx.services.settings.update(viewerOf(ctx), input);
  }
}
