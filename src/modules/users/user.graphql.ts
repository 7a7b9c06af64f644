import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { Availability, UserRole } from "./user.entity";

// The GraphQL shape of user.entity.ts's rows (the transport's; the entity knows no GraphQL).

registerEnumType(UserRole, { name: "UserRole" });

registerEnumType(Availability, {
  name: "Availability",
  description: "Set by each user (managers and admins may set anyone's). AWAY users are left out of availableOnly lists and, with requireAvailableRecipient, receive no requests.",
});

@ObjectType("User", { description: "An agent of an organization." })
export class UserObject {
  @Field(() => ID)
  id: string;

  @Field()
  email: string;

  @Field()
  name: string;

  @Field(() => UserRole)
  role: UserRole;

  @Field()
  active: boolean;

  @Field(() => Availability)
  availability: Availability;

  @Field(() => Int, {
    nullable: true,
    description: "Capacity: how many open chats the user may hold. Null: the organization's defaultMaxOpenChats; 0: no limit. Set by managers and admins (setMaxOpenChats).",
  })
  maxOpenChats: number | null;

  @Field()
  createdAt: Date;
}
