import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";

export enum RecipientType {
  USER = "USER",
  MANAGER = "MANAGER",
}
registerEnumType(RecipientType, {
  name: "RecipientType",
  description: "The \"Assign To\" field. MANAGER also covers admins.",
});

export enum RequestStatus {
  PENDING = "PENDING",
  ACCEPTED = "ACCEPTED",
  REJECTED = "REJECTED",
  WITHDRAWN = "WITHDRAWN",
  TIMED_OUT = "TIMED_OUT",
  CANCELLED = "CANCELLED",
}
registerEnumType(RequestStatus, { name: "AssignmentRequestStatus" });

export enum RequestKind {
  ASSIGN = "ASSIGN",
  DISCUSS = "DISCUSS",
}
registerEnumType(RequestKind, {
  name: "RequestKind",
  description: "ASSIGN hands the chat over on accept; DISCUSS opens a private discussion about it, the owner unchanged.",
});

@ObjectType({ description: "A sender asks a recipient to take a chat over." })
@Entity("assignment_requests")
export class AssignmentRequest {
  @Field(() => ID)
  @PrimaryGeneratedColumn("uuid")
  id: string;

  @Field(() => RequestKind)
  @Column("text")
  kind: RequestKind;

  @Column("uuid", { name: "organization_id" })
  organizationId: string;

  @Column("uuid", { name: "chat_session_id" })
  chatSessionId: string;

  @Column("uuid", { name: "sender_id" })
  senderId: string;

  @Column("uuid", { name: "recipient_id" })
  recipientId: string;

  @Field(() => RecipientType)
  @Column("text", { name: "recipient_type" })
  recipientType: RecipientType;

  @Field(() => RequestStatus)
  @Column("text")
  status: RequestStatus;

  @Field(() => String, { nullable: true })
  @Column("text", { nullable: true })
  note: string | null;

  @Field(() => String, { nullable: true, description: "Why it was rejected, withdrawn or cancelled." })
  @Column("text", { nullable: true })
  reason: string | null;

  @Field(() => Int, { description: "The timeout in force when the request was sent." })
  @Column("integer", { name: "timeout_seconds" })
  timeoutSeconds: number;

  @Field()
  @Column("timestamptz", { name: "created_at" })
  createdAt: Date;

  @Field({ description: "The deadline; an action after it fails with REQUEST_EXPIRED." })
  @Column("timestamptz", { name: "expires_at" })
  expiresAt: Date;

  @Field(() => Date, { nullable: true })
  @Column("timestamptz", { name: "responded_at", nullable: true })
  respondedAt: Date | null;

  @Column("uuid", { name: "responded_by_id", nullable: true })
  respondedById: string | null;

  /** A fallback chain's recipients still to try after this one, in order (ASSIGN only; 0..5). */
  @Column("uuid", { name: "fallback_recipient_ids", array: true })
  fallbackRecipientIds: string[];

  /** The hop before this one in its chain; null for the sender's own request. */
  @Column("uuid", { name: "previous_request_id", nullable: true })
  previousRequestId: string | null;

  /** The chain's first request, on every later hop; null on the first. */
  @Column("uuid", { name: "chain_id", nullable: true })
  chainId: string | null;

  @Field(() => Int, { description: "Its place in its fallback chain: 1 for the sender's own request, 2 for the first hop, and so on." })
  @Column("integer")
  hop: number;

  @Field(() => Boolean, { description: "Sent to a manager or admin as the chain's last resort (fallbackToManagers)." })
  @Column("boolean", { name: "last_resort" })
  lastResort: boolean;
}
