import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";

@Entity("organizations")
export class Organization {
  @PrimaryGeneratedColumn("uuid")
  id: string;

  @Column("text")
  name: string;

  @Column({ type: "timestamptz", name: "created_at", insert: false, update: false })
  createdAt: Date;
}
