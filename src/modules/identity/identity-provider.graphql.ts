import { Field, ObjectType } from "type-graphql";

// The GraphQL shape of identity-provider.entity.ts's rows (the transport's; the entity knows no GraphQL).

@ObjectType("IdentityProvider", { description: "The OpenID Connect provider the organization's people sign in with. Admins only." })
export class IdentityProviderObject {
  @Field({ description: "Exactly as its tokens' iss and its discovery document say it (a trailing slash matters)." })
  issuer: string;

  @Field({ description: "What its tokens' aud must include (the client or API id registered at the provider)." })
  audience: string;

  @Field({ description: "The claim that names a Baton user: email matches users' email; any other (sub, oid, ...) their externalId." })
  userClaim: string;

  @Field({ description: "A valid token for nobody Baton knows creates an active USER (name and email from the token)." })
  createUsers: boolean;

  @Field(() => String, { nullable: true, description: "The console's client id at the provider (Authorization Code with PKCE); null: no single sign-on in the console." })
  consoleClientId: string | null;
}
