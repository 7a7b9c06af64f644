import { Field, ID, ObjectType } from "type-graphql";
import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";

@ObjectType({ description: "A tenant: every row belongs to exactly one." })
@Entity("organizations")
export class Organization {
  @Field(() => ID)
  @PrimaryGeneratedColumn("uuid")
  id: string;

  @Field()
  @Column("text")
  name: string;

  @Field()
  @Column({ type: "timestamptz", name: "created_at", insert: false, update: false })
  createdAt: Date;
}
