import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { Column, Entity, PrimaryColumn } from "typeorm";

export enum DiscussionStatus {
  ACTIVE = "ACTIVE",
  ENDED = "ENDED",
}
registerEnumType(DiscussionStatus, { name: "DiscussionStatus" });

@ObjectType({ description: "A private discussion about a chat between its owner (or a manager) and a colleague, opened by an accepted DISCUSS request. The customer never sees it." })
@Entity("discussions")
export class Discussion {
  @Field(() => ID)
  @PrimaryColumn("uuid")
  id: string;

  @Column("uuid", { name: "organization_id" })
  organizationId: string;

  @Column("uuid", { name: "request_id" })
  requestId: string;

  @Column("uuid", { name: "chat_session_id" })
  chatSessionId: string;

  @Column("uuid", { name: "requester_id" })
  requesterId: string;

  @Column("uuid", { name: "consultant_id" })
  consultantId: string;

  @Field(() => DiscussionStatus)
  @Column("text")
  status: DiscussionStatus;

  @Field()
  @Column("timestamptz", { name: "started_at" })
  startedAt: Date;

  @Field(() => Date, { nullable: true })
  @Column("timestamptz", { name: "ended_at", nullable: true })
  endedAt: Date | null;

  @Column("uuid", { name: "ended_by_id", nullable: true })
  endedById: string | null;

  @Field(() => String, { nullable: true })
  @Column("text", { name: "end_reason", nullable: true })
  endReason: string | null;

  @Field(() => Int, { description: "Messages written so far." })
  @Column("integer", { name: "message_count" })
  messageCount: number;
}

@ObjectType({ description: "One message of a discussion, seen only by its participants and the organization's managers." })
@Entity("discussion_messages")
export class DiscussionMessage {
  @Field(() => ID)
  @PrimaryColumn("uuid")
  id: string;

  @Column("uuid", { name: "organization_id" })
  organizationId: string;

  @Column("uuid", { name: "discussion_id" })
  discussionId: string;

  @Column("uuid", { name: "author_id" })
  authorId: string;

  @Field()
  @Column("text")
  body: string;

  @Field()
  @Column("timestamptz", { name: "created_at" })
  createdAt: Date;
}
