import { Field, ID, InputType, registerEnumType } from "type-graphql";
import { RecipientType, RequestKind, RequestStatus } from "./assignment-request.entity";
import { RequestDirection } from "./assignment-query.service";

registerEnumType(RequestDirection, {
  name: "RequestDirection",
  description: "INCOMING: sent to me. OUTGOING: sent by me. ALL: both; for managers and admins, the whole organization.",
});

@InputType()
export class AssignChatInput {
  @Field(() => ID)
  chatSessionId: string;

  @Field(() => RecipientType, { description: "\"Assign To\": USER, or MANAGER (which covers admins)." })
  recipientType: RecipientType;

  @Field(() => ID, { description: "\"Select User\": an active user of the organization of that type." })
  recipientId: string;

  @Field(() => String, { nullable: true, description: "Optional context for the recipient, up to 1000 characters." })
  note?: string | null;
}

/** The same fields as AssignChatInput: the recipient becomes the consultant. */
@InputType({ description: "Discuss: the same fields as AssignChatInput; the recipient becomes the consultant." })
export class DiscussChatInput extends AssignChatInput {}

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
