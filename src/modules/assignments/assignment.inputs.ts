import { Field, ID, InputType, registerEnumType } from "type-graphql";
import { RecipientType, RequestKind, RequestStatus } from "./assignment-request.entity";
import { RequestDirection } from "./assignment-query.service";

registerEnumType(RequestDirection, {
  name: "RequestDirection",
  description: "INCOMING: sent to me. OUTGOING: sent by me. ALL: both; for managers and admins, the whole organization.",
});

/** The fields every request on a chat takes (Assign and Discuss); not itself in the schema. */
@InputType()
class ChatRequestFields {
  @Field(() => ID)
  chatSessionId: string;

  @Field(() => RecipientType, { description: "\"Assign To\": USER, or MANAGER (which covers admins)." })
  recipientType: RecipientType;

  @Field(() => ID, { description: "\"Select User\": an active user of the organization of that type." })
  recipientId: string;

  @Field(() => String, { nullable: true, description: "Optional context for the recipient, up to 1000 characters." })
  note?: string | null;
}

@InputType()
export class AssignChatInput extends ChatRequestFields {
  @Field(() => [ID], {
    nullable: true,
    description:
      "A fallback chain: up to 5 distinct active users of the organization (of the recipient type; not the recipient, you or the owner), " +
      "tried in order when the request times out (or is rejected, with fallbackOnReject). Each is skipped if unable to take it then (inactive, AWAY).",
  })
  fallbackRecipientIds?: string[] | null;

  @Field(() => Boolean, {
    nullable: true,
    description:
      "Managers and admins: hand the chat over even where the loop rule refuses (HANDOVER_LOOP, HANDOVER_LIMIT_REACHED); the tracking record keeps the rule overridden. Others: FORBIDDEN.",
  })
  override?: boolean | null;
}

@InputType({ description: "Discuss: the same fields as AssignChatInput, without a fallback chain; the recipient becomes the consultant." })
export class DiscussChatInput extends ChatRequestFields {}

@InputType()
export class AssignmentRequestFilter {
  @Field(() => RequestDirection, { nullable: true, defaultValue: RequestDirection.ALL })
  direction?: RequestDirection | null;

  @Field(() => RequestStatus, { nullable: true })
  status?: RequestStatus | null;

  @Field(() => RequestKind, { nullable: true, description: "ASSIGN or DISCUSS; both when omitted." })
  kind?: RequestKind | null;

  @Field(() => ID, { nullable: true })
  chatSessionId?: string | null;
}
