import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { RecipientType, RequestKind, RequestStatus } from "./assignment-request.entity";

// The GraphQL shape of assignment-request.entity.ts's rows (the transport's; the entity knows no GraphQL).

registerEnumType(RecipientType, {
  name: "RecipientType",
  description: "The \"Assign To\" field. MANAGER also covers admins.",
});

registerEnumType(RequestStatus, { name: "AssignmentRequestStatus" });

registerEnumType(RequestKind, {
  name: "RequestKind",
  description: "ASSIGN hands the chat over on accept; DISCUSS opens a private discussion about it, the owner unchanged.",
});

@ObjectType("AssignmentRequest", { description: "A sender asks a recipient to take a chat over." })
export class AssignmentRequestObject {
  @Field(() => ID)
  id: string;

  @Field(() => RequestKind)
  kind: RequestKind;

  @Field(() => RecipientType)
  recipientType: RecipientType;

  @Field(() => RequestStatus)
  status: RequestStatus;

  @Field(() => String, { nullable: true })
  note: string | null;

  @Field(() => String, { nullable: true, description: "Why it was rejected, withdrawn or cancelled." })
  reason: string | null;

  @Field(() => Int, { description: "The timeout in force when the request was sent." })
  timeoutSeconds: number;

  @Field()
  createdAt: Date;

  @Field({ description: "The deadline; an action after it fails with REQUEST_EXPIRED." })
  expiresAt: Date;

  @Field(() => Date, { nullable: true, description: "The chat's reply window's end as it stood when the request was sent (null: no customer message, or no window)." })
  replyWindowEndsAt: Date | null;

  @Field(() => Date, { nullable: true })
  respondedAt: Date | null;

  @Field(() => Int, { description: "Its place in its fallback chain: 1 for the sender's own request, 2 for the first hop, and so on." })
  hop: number;

  @Field(() => Boolean, { description: "Sent to a manager or admin as the chain's last resort (fallbackToManagers)." })
  lastResort: boolean;
}
