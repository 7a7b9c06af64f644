import { Field, ID, ObjectType } from "type-graphql";

// The GraphQL shape of the verifiable log's checkpoints and keys (kernel/audit-chain.ts).

@ObjectType("AuditCheckpoint", {
  description: "A signed statement that the organization's chain reached this event with this hash (README: A handover log anyone can verify).",
})
export class AuditCheckpointObject {
  @Field(() => ID)
  organizationId: string;

  @Field(() => String, { description: "The event the checkpoint covers (its chain up to it)." })
  sequence: string;

  @Field({ description: "That event's hash." })
  hash: string;

  @Field()
  signedAt: Date;

  @Field({
    description: "Base64 Ed25519 signature of the JCS (RFC 8785) text of {organizationId, sequence, hash, signedAt}, signedAt as ISO 8601 UTC with milliseconds.",
  })
  signature: string;

  @Field({ description: "Which of auditPublicKeys signed it." })
  keyId: string;
}

@ObjectType("AuditPublicKey", { description: "A key that signs (or signed) checkpoints: a rotated-out key stays published." })
export class AuditPublicKeyObject {
  @Field()
  keyId: string;

  @Field({ description: "The Ed25519 public key, PEM (SPKI)." })
  publicKeyPem: string;

  @Field()
  activeFrom: Date;

  @Field(() => Date, { nullable: true, description: "When a newer key replaced it (null: it signs now). A checkpoint signed after it is not valid." })
  activeUntil: Date | null;
}
