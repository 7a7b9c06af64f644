import { Arg, Ctx, Field, FieldResolver, ID, InputType, Int, Mutation, Query, Resolver, Root, Subscription } from "type-graphql";
import { received } from "../../events/received";
import { can } from "../../policy/access";
import { audience } from "../../events/pubsub";
import { type Context, viewerOf } from "../../graphql/context";
import { Availability, User, UserRole } from "./user.entity";
import { UserObject } from "./user.graphql";

@InputType()
export class UpsertUserInput {
  @Field({ description: "The user's identity within the organization (case-insensitive)." })
  email: string;

  @Field()
  name: string;

  @Field(() => UserRole)
  role: UserRole;

  @Field(() => Boolean, { nullable: true, description: "false deactivates, cancelling the user's pending requests." })
  active?: boolean | null;

  @Field(() => String, {
    nullable: true,
    description: "The identity provider's id for the user (its sub, oid, ...: the claim the organization's identity provider names users by). Omitted keeps it; \"\" clears it.",
  })
  externalId?: string | null;
}

@Resolver(() => UserObject)
export class UserResolver {
  @Query(() => UserObject)
  me(@Ctx() ctx: Context): User {
    return viewerOf(ctx);
  }

  @Query(() => [UserObject], { description: "The \"Select User\" list: active users of my organization, online first, then AVAILABLE before BUSY, then by name." })
  users(
    @Ctx() ctx: Context,
    @Arg("role", () => UserRole, { nullable: true }) role?: UserRole,
    @Arg("search", () => String, { nullable: true }) search?: string,
    @Arg("availableOnly", () => Boolean, { nullable: true, description: "Leave out AWAY users." }) availableOnly?: boolean,
  ): Promise<User[]> {
    return ctx.services.users.list(viewerOf(ctx), role, search, availableOnly ?? false);
  }

  @Mutation(() => UserObject, { description: "Sets my availability. Going AWAY times out the requests waiting for me." })
  setMyAvailability(@Arg("availability", () => Availability) availability: Availability, @Ctx() ctx: Context): Promise<User> {
    const viewer = viewerOf(ctx);
    return ctx.services.users.setAvailability(viewer, viewer.id, availability);
  }

  @Mutation(() => UserObject, { description: "Managers and admins: sets a user's availability." })
  setUserAvailability(
    @Arg("userId", () => ID) userId: string,
    @Arg("availability", () => Availability) availability: Availability,
    @Ctx() ctx: Context,
  ): Promise<User> {
    return ctx.services.users.setAvailability(viewerOf(ctx), userId, availability);
  }

  @Subscription(() => UserObject, {
    description: "Availability changes of my organization's users.",
    subscribe: ({ context }: { context: Context }) => {
      const viewer = viewerOf(context);
      return context.services.pubsub.subscribe("USER_AVAILABILITY_CHANGED", audience.organization(viewer.organizationId), {
        onOverflow: context.onFeedOverflow,
        onInterrupted: context.onFeedInterrupted,
      });
    },
  })
  userAvailabilityChanged(@Root() user: User, @Ctx() ctx: Context): User {
    ctx.renewLoaders();
    return received.user(user);
  }

  @FieldResolver(() => Boolean, { description: "Has an open, authenticated subscription socket on any instance." })
  online(@Root() user: User, @Ctx() ctx: Context): Promise<boolean> {
    return ctx.loaders.online.load(user.id);
  }

  @FieldResolver(() => Int, { description: "Capacity: the open chats the user holds now (owned, OPEN)." })
  openChatCount(@Root() user: User, @Ctx() ctx: Context): Promise<number> {
    return ctx.loaders.openChatCount.load(user.id);
  }

  @Mutation(() => UserObject, { description: "Managers and admins: how many open chats a user may hold (null: the organization's defaultMaxOpenChats; 0: no limit; at most 10000)." })
  setMaxOpenChats(
    @Arg("userId", () => ID) userId: string,
    @Arg("maxOpenChats", () => Int, { nullable: true }) maxOpenChats: number | null,
    @Ctx() ctx: Context,
  ): Promise<User> {
    return ctx.services.users.setMaxOpenChats(viewerOf(ctx), userId, maxOpenChats ?? null);
  }

  @FieldResolver(() => String, { nullable: true, description: "Admins: the identity provider's id for the user (null for everyone else)." })
  externalId(@Root() user: User, @Ctx() ctx: Context): string | null {
    return can(viewerOf(ctx), "users.manage") ? user.externalId : null;
  }

  @Mutation(() => UserObject, { description: "Admins: create or update a user by email." })
  upsertUser(@Arg("input", () => UpsertUserInput) input: UpsertUserInput, @Ctx() ctx: Context): Promise<User> {
    return ctx.services.users.upsert(viewerOf(ctx), input);
  }
}
