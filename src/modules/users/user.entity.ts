import { Field, ID, ObjectType, registerEnumType } from "type-graphql";
import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";

export enum UserRole {
  USER = "USER",
  MANAGER = "MANAGER",
  ADMIN = "ADMIN",
}
registerEnumType(UserRole, { name: "UserRole" });

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

  @Field()
  @Column({ type: "timestamptz", name: "created_at", insert: false, update: false })
  createdAt: Date;
}

export const isManagerOrAdmin = (user: Pick<User, "role">): boolean =>
  user.role === UserRole.MANAGER || user.role === UserRole.ADMIN;
