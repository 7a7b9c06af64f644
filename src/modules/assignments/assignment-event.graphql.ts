import { Field, ObjectType, registerEnumType } from "type-graphql";
import { AssignmentEventType } from "./assignment-event.entity";

// The GraphQL shape of assignment-event.entity.ts's rows (the transport's; the entity knows no GraphQL).

registerEnumType(AssignmentEventType, { name: "AssignmentEventType" });

@ObjectType("AssignmentEvent", { description: "One change in a handover's life, in the order it happened." })
export class AssignmentEventObject {
  @Field(() => String, { description: "Increasing; pass the last one seen to assignmentEventsSince." })
  sequence: string;

  @Field(() => AssignmentEventType)
  type: AssignmentEventType;

  @Field()
  occurredAt: Date;

  @Field({
    description:
      "The exact text that was hashed: the RFC 8785 (JCS) JSON of organizationId, sequence, type, occurredAt, actorId, chatSessionId, requestId, trackingRecordId, facts and previousHash (README: A handover log anyone can verify).",
  })
  auditRecord: string;

  @Field({ description: "64 lowercase hex: the hash of the organization's previous event; 64 zeros for its first." })
  previousHash: string;

  @Field({ description: "Lowercase hex SHA-256 of the UTF-8 bytes of auditRecord." })
  hash: string;
}
