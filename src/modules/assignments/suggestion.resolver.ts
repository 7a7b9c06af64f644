import { Arg, Ctx, FieldResolver, ID, Int, Query, Resolver, Root } from "type-graphql";
import type { Suggestion } from "../../engine/suggest";
import { notFound } from "../../errors";
import { type Context, viewerOf } from "../../graphql/context";
import type { User } from "../users/user.entity";
import { UserObject } from "../users/user.graphql";
import { RecipientType, RequestKind } from "./assignment-request.entity";
import { RecipientSuggestionObject } from "./suggestion.graphql";

@Resolver(() => RecipientSuggestionObject)
export class SuggestionResolver {
  @Query(() => [RecipientSuggestionObject], {
    description:
      "Who should take this chat: the people a request of this kind and recipient type may go to now (the same rule as assignChat's), best first (when the chat's reply window closes within 30 minutes, those online and AVAILABLE first). Asked by whoever may hand the chat over (its owner, managers, admins).",
  })
  suggestedRecipients(
    @Ctx() ctx: Context,
    @Arg("chatSessionId", () => ID) chatSessionId: string,
    @Arg("kind", () => RequestKind, { defaultValue: RequestKind.ASSIGN }) kind: RequestKind,
    @Arg("recipientType", () => RecipientType, { defaultValue: RecipientType.USER }) recipientType: RecipientType,
    @Arg("first", () => Int, { defaultValue: 5, description: "1..50" }) first: number,
  ): Promise<Suggestion[]> {
    return ctx.services.suggestions.suggest(viewerOf(ctx), { chatSessionId, kind, recipientType, first });
  }

  @FieldResolver(() => UserObject)
  async user(@Root() s: Suggestion, @Ctx() ctx: Context): Promise<User> {
    const user = await ctx.loaders.user.load(s.id);
    if (!user) throw notFound("User");
    return user;
  }
}
