import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";

export enum ChatStatus {
  OPEN = "OPEN",
  CLOSED = "CLOSED",
}
export enum ChatChannel {
  WHATSAPP = "WHATSAPP",
}

@Entity("chat_sessions")
export class ChatSession {
  @PrimaryGeneratedColumn("uuid")
  id: string;

  @Column("uuid", { name: "organization_id" })
  organizationId: string;

  @Column("text", { name: "customer_name" })
  customerName: string;

  @Column("text", { name: "customer_phone" })
  customerPhone: string;

  @Column("text")
  channel: ChatChannel;

  @Column("text")
  status: ChatStatus;

  @Column("uuid", { name: "owner_id" })
  ownerId: string;

  @Column("timestamptz", { name: "last_customer_message_at", nullable: true })
  lastCustomerMessageAt: Date | null;

  @Column({ type: "timestamptz", name: "created_at", insert: false, update: false })
  createdAt: Date;

  @Column({ type: "timestamptz", name: "updated_at", insert: false })
  updatedAt: Date;
}
