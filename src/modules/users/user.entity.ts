import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";

export enum UserRole {
  USER = "USER",
  MANAGER = "MANAGER",
  ADMIN = "ADMIN",
}

export enum Availability {
  AVAILABLE = "AVAILABLE",
  BUSY = "BUSY",
  AWAY = "AWAY",
}

@Entity("users")
export class User {
  @PrimaryGeneratedColumn("uuid")
  id: string;

  @Column("uuid", { name: "organization_id" })
  organizationId: string;

  @Column("text")
  email: string;

  /** The identity provider's id for this user (its `sub`, `oid`, ...), when the organization signs in by one. */
  @Column("text", { name: "external_id", nullable: true })
  externalId: string | null;

  @Column("text")
  name: string;

  @Column("text")
  role: UserRole;

  @Column("boolean")
  active: boolean;

  @Column("text")
  availability: Availability;

  /** How many open chats the user may hold (issue #24): null, the organization's default; 0, no limit. */
  @Column("integer", { name: "max_open_chats", nullable: true })
  maxOpenChats: number | null;

  @Column({ type: "timestamptz", name: "created_at", insert: false, update: false })
  createdAt: Date;
}
