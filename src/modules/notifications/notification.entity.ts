import { Field, ID, ObjectType, registerEnumType } from "type-graphql";
import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";

export enum NotificationType {
  ASSIGNMENT_REQUESTED = "ASSIGNMENT_REQUESTED",
  ASSIGNMENT_ACCEPTED = "ASSIGNMENT_ACCEPTED",
  ASSIGNMENT_REJECTED = "ASSIGNMENT_REJECTED",
  ASSIGNMENT_WITHDRAWN = "ASSIGNMENT_WITHDRAWN",
  ASSIGNMENT_TIMED_OUT = "ASSIGNMENT_TIMED_OUT",
  ASSIGNMENT_CANCELLED = "ASSIGNMENT_CANCELLED",
  /** To the sender: a fallback chain moved on ("Martha did not respond in time; the request went to Lisa."). */
  ASSIGNMENT_FORWARDED = "ASSIGNMENT_FORWARDED",
  /** To the sender: a fallback chain ended with nobody ("Nobody took the chat: Martha, Lisa and Maria did not respond."). */
  ASSIGNMENT_UNCLAIMED = "ASSIGNMENT_UNCLAIMED",
  CHATS_ASSIGNED = "CHATS_ASSIGNED",
  DISCUSSION_REQUESTED = "DISCUSSION_REQUESTED",
  DISCUSSION_ACCEPTED = "DISCUSSION_ACCEPTED",
  DISCUSSION_REJECTED = "DISCUSSION_REJECTED",
  DISCUSSION_WITHDRAWN = "DISCUSSION_WITHDRAWN",
  DISCUSSION_TIMED_OUT = "DISCUSSION_TIMED_OUT",
  DISCUSSION_CANCELLED = "DISCUSSION_CANCELLED",
  DISCUSSION_ENDED = "DISCUSSION_ENDED",
}
registerEnumType(NotificationType, { name: "NotificationType" });

@ObjectType({ description: "A stored message for one user, pushed live and readable later." })
@Entity("notifications")
export class Notification {
  @Field(() => ID)
  @PrimaryGeneratedColumn("uuid")
  id: string;

  @Column("uuid", { name: "organization_id" })
  organizationId: string;

  @Column("uuid", { name: "user_id" })
  userId: string;

  @Field(() => NotificationType)
  @Column("text")
  type: NotificationType;

  @Field()
  @Column("text")
  message: string;

  @Column("uuid", { name: "request_id", nullable: true })
  requestId: string | null;

  @Field()
  @Column("timestamptz", { name: "created_at" })
  createdAt: Date;

  @Field(() => Date, { nullable: true })
  @Column("timestamptz", { name: "read_at", nullable: true })
  readAt: Date | null;
}
