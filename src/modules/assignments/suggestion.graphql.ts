import { Field, Float, ObjectType } from "type-graphql";
import { UserObject } from "../users/user.graphql";

// The GraphQL shape of src/engine/suggest.ts's Suggestion (issue #24).

@ObjectType("RecipientSuggestion", {
  description:
    "Someone who may take the chat now, with the score they were ranked by (0..1: online 0.40, availability 0.20, room under capacity 0.15, fewest requests waiting 0.10, your acceptance rate with them over 30 days 0.10, how fast they accept 0.05) and the reasons in words.",
})
export class RecipientSuggestionObject {
  id: string;

  @Field(() => UserObject)
  user: UserObject;

  @Field(() => Float)
  score: number;

  @Field(() => [String], { description: 'Short sentences: "online", "available", "3 of 8 open chats", "accepted 9 of your last 10", "usually accepts in 40 s".' })
  reasons: string[];
}
