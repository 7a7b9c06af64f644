import { Arg, Ctx, Field, FieldResolver, InputType, Mutation, Query, Resolver, Root } from "type-graphql";
import { type Context, viewerOf } from "../../graphql/context";
import { User, UserRole } from "./user.entity";

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
}

@Resolver(() => User)
export class UserResolver {
  @Query(() => User)
  me(@Ctx() ctx: Context): User {
    return viewerOf(ctx);
  }

  @Query(() => [User], { description: "The \"Select User\" list: active users of my organization." })
  users(
    @Ctx() ctx: Context,
    @Arg("role", () => UserRole, { nullable: true }) role?: UserRole,
    @Arg("search", () => String, { nullable: true }) search?: string,
  ): Promise<User[]> {
    return ctx.services.users.list(viewerOf(ctx), role, search);
  }

  @FieldResolver(() => Boolean, { description: "Has an open, authenticated subscription socket on any instance." })
  online(@Root() user: User, @Ctx() ctx: Context): Promise<boolean> {
    return ctx.loaders.online.load(user.id);
  }

  @Mutation(() => User, { description: "Admins: create or update a user by email." })
  upsertUser(@Arg("input", () => UpsertUserInput) input: UpsertUserInput, @Ctx() ctx: Context): Promise<User> {
    return ctx.services.users.upsert(viewerOf(ctx), input);
  }
}
