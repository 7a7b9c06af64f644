import { Arg, Ctx, Int, Query, Resolver } from "type-graphql";
import { type Context, viewerOf } from "../../graphql/context";
import { ConnectionType, toConnection } from "../../graphql/pagination";
import type { PublicKeyEntry } from "../../kernel/audit-chain";
import { AuditCheckpointObject, AuditPublicKeyObject } from "./audit.graphql";

const AuditCheckpointConnection = ConnectionType(AuditCheckpointObject, "AuditCheckpoint");

@Resolver()
export class AuditResolver {
  @Query(() => AuditCheckpointConnection, { description: "Managers and admins: the organization's signed checkpoints, newest first." })
  auditCheckpoints(
    @Ctx() ctx: Context,
    @Arg("first", () => Int, { nullable: true }) first?: number | null,
    @Arg("after", () => String, { nullable: true }) after?: string | null,
  ) {
    return ctx.services.audit.checkpointsOf(viewerOf(ctx), first, after).then(toConnection);
  }

  @Query(() => [AuditPublicKeyObject], { description: "Public, no sign-in: every key that signs or signed checkpoints, oldest first." })
  auditPublicKeys(@Ctx() ctx: Context): Promise<PublicKeyEntry[]> {
    return ctx.services.audit.publicKeys();
  }
}
