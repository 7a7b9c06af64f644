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
}
