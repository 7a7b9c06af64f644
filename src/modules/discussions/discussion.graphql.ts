import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { DiscussionStatus } from "./discussion.entity";

// The GraphQL shape of discussion.entity.ts's rows (the transport's; the entity knows no GraphQL).

registerEnumType(DiscussionStatus, { name: "DiscussionStatus" });

@ObjectType("Discussion", { description: "A private discussion about a chat between its owner (or a manager) and a colleague, opened by an accepted DISCUSS request. The customer never sees it." })
export class DiscussionObject {
  @Field(() => ID)
  id: string;

  @Field(() => DiscussionStatus)
  status: DiscussionStatus;

  @Field()
  startedAt: Date;

  @Field(() => Date, { nullable: true })
  endedAt: Date | null;

  @Field(() => String, { nullable: true })
  endReason: string | null;

  @Field(() => Int, { description: "Messages written so far." })
  messageCount: number;
}

@ObjectType("DiscussionMessage", { description: "One message of a discussion, seen only by its participants and the organization's managers." })
export class DiscussionMessageObject {
  @Field(() => ID)
  id: string;

  @Field()
  body: string;

  @Field()
  createdAt: Date;
}
