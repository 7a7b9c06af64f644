import { Field, ID, ObjectType, registerEnumType } from "type-graphql";
import { NotificationType } from "./notification.entity";

// The GraphQL shape of notification.entity.ts's rows (the transport's; the entity knows no GraphQL).

registerEnumType(NotificationType, { name: "NotificationType" });

@ObjectType("Notification", { description: "A stored message for one user, pushed live and readable later." })
export class NotificationObject {
  @Field(() => ID)
  id: string;

  @Field(() => NotificationType)
  type: NotificationType;

  @Field()
  message: string;

  @Field()
  createdAt: Date;

  @Field(() => Date, { nullable: true })
  readAt: Date | null;
}
