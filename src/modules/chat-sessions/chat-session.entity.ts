import { Field, ID, ObjectType, registerEnumType } from "type-graphql";
import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";

export enum ChatStatus {
  OPEN = "OPEN",
  CLOSED = "CLOSED",
}
export enum ChatChannel {
  WHATSAPP = "WHATSAPP",
}
registerEnumType(ChatStatus, { name: "ChatStatus" });
registerEnumType(ChatChannel, { name: "ChatChannel" });

@ObjectType({ description: "One WhatsApp conversation with a customer." })
@Entity("chat_sessions")
export class ChatSession {
  @Field(() => ID)
  @PrimaryGeneratedColumn("uuid")
  id: string;

  @Column("uuid", { name: "organization_id" })
  organizationId: string;

  @Field()
  @Column("text", { name: "customer_name" })
  customerName: string;

  @Field({ description: "E.164, e.g. +14155550123" })
  @Column("text", { name: "customer_phone" })
  customerPhone: string;

  @Field(() => ChatChannel)
  @Column("text")
  channel: ChatChannel;

  @Field(() => ChatStatus)
  @Column("text")
  status: ChatStatus;

  @Column("uuid", { name: "owner_id" })
  ownerId: string;

  @Field(() => Date, { nullable: true })
  @Column("timestamptz", { name: "last_customer_message_at", nullable: true })
  lastCustomerMessageAt: Date | null;

  @Field()
  @Column({ type: "timestamptz", name: "created_at", insert: false, update: false })
  createdAt: Date;

  @Field()
  @Column({ type: "timestamptz", name: "updated_at", insert: false })
  updatedAt: Date;
}
