import { Arg, Ctx, Field, InputType, Mutation, Query, Resolver } from "type-graphql";
import { type Context, viewerOf } from "../../graphql/context";
import type { IdentityProvider } from "./identity-provider.entity";
import { IdentityProviderObject } from "./identity-provider.graphql";

@InputType()
export class IdentityProviderInput {
  @Field({ description: "https://, as the provider's tokens name it, e.g. https://login.microsoftonline.com/<tenant>/v2.0." })
  issuer: string;

  @Field({ description: "What the tokens' aud must include." })
  audience: string;

  @Field(() => String, { nullable: true, description: "Default email; sub, oid or another claim match users' externalId." })
  userClaim?: string | null;

  @Field(() => Boolean, { nullable: true, description: "Default false." })
  createUsers?: boolean | null;

  @Field(() => String, { nullable: true })
  consoleClientId?: string | null;
}

@Resolver(() => IdentityProviderObject)
export class IdentityResolver {
  @Query(() => IdentityProviderObject, { nullable: true, description: "Admins: the organization's identity provider, or null." })
  identityProvider(@Ctx() ctx: Context): Promise<IdentityProvider | null> {
    return ctx.services.identity.get(viewerOf(ctx));
  }

  @Mutation(() => IdentityProviderObject, { description: "Admins: sets the identity provider (its discovery document is read first); replaces the previous one." })
  setIdentityProvider(@Arg("input", () => IdentityProviderInput) input: IdentityProviderInput, @Ctx() ctx: Context): Promise<IdentityProvider> {
    return ctx.services.identity.set(viewerOf(ctx), input);
  }

  @Mutation(() => Boolean, { description: "Admins: removes the identity provider; its tokens stop signing in. false when there was none." })
  removeIdentityProvider(@Ctx() ctx: Context): Promise<boolean> {
    return ctx.services.identity.remove(viewerOf(ctx));
  }
}
