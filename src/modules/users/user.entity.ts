import { Field, ID, ObjectType, registerEnumType } from "type-graphql";
import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";

export enum UserRole {
  USER = "USER",
  MANAGER = "MANAGER",
  ADMIN = "ADMIN",
}
registerEnumType(UserRole, { name: "UserRole" });

export enum Availability {
  AVAILABLE = "AVAILABLE",
  BUSY = "BUSY",
  AWAY = "AWAY",
}
registerEnumType(Availability, {
  name: "Availability",
  description: "Set by each user (managers and admins may set anyone's). AWAY users are left out of availableOnly lists and, with requireAvailableRecipient, receive no requests.",
});

@ObjectType({ description: "An agent of an organization." })
@Entity("users")
export class User {
  @Field(() => ID)
  @PrimaryGeneratedColumn("uuid")
  id: string;

  @Column("uuid", { name: "organization_id" })
  organizationId: string;

  @Field()
  @Column("text")
  email: string;

  @Field()
  @Column("text")
  name: string;

  @Field(() => UserRole)
  @Column("text")
  role: UserRole;

  @Field()
  @Column("boolean")
  active: boolean;

  @Field(() => Availability)
  @Column("text")
  availability: Availability;

  @Field()
  @Column({ type: "timestamptz", name: "created_at", insert: false, update: false })
  createdAt: Date;
}
