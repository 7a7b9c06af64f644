import "reflect-metadata";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "./config";
import { openDatabase } from "./db/database";
import { createLogger } from "./logger";
import { TokenService } from "./modules/auth/token.service";
import { OrganizationService } from "./modules/organizations/organization.service";
import { StartupError } from "./startup-error";
import { BiAccessService } from "./modules/bi/bi-access.service";
import { AuditService, type ExportLine, verifyExport } from "./modules/audit/audit.service";
import { loadAuditSigningKey } from "./kernel/audit-key-file";
import type { Verdict } from "./kernel/audit-chain";

const USAGE = `usage: npm run cli -- <command> [options]

commands:
  org:create --name NAME --admin-email EMAIL --admin-name NAME
      a new organization and its first admin; prints {"organizationId","adminUserId","adminToken"}
  token --email EMAIL
      a 7-day token for that active user; prints {"userId","token"}
  bi:grant --role NAME (--organization ID | --all-organizations)
      lets the login role NAME read the bi views of that organization only (or of all), and nothing
      else; creates the role (printing its password once) when it does not exist and this database
      user may (CREATEROLE); prints {"role","organizationId","created","password"?}
  bi:revoke --role NAME
      ends that role's access to the bi views (the role itself stays); prints {"role","hadAccess"}
  bi:refresh
      recomputes bi.handover_daily now (the server does so every BI_ROLLUP_REFRESH_SECONDS)
  audit:verify --organization ID [--from SEQ] [--export FILE]
      recomputes the organization's event chain (from event SEQ) and checks every checkpoint's
      signature; with --export, checks that export file instead of the database. Prints
      "ok N events, M checkpoints" or "broken at SEQ: HOW: what was found" (HOW: changed, missing,
      inserted, reordered) and exits 1
  audit:export --organization ID [--from SEQ]
      the organization's events (from SEQ), checkpoints and public keys as JSON lines, to keep
      outside Baton and verify without it (README: A handover log anyone can verify)
  audit:checkpoint [--organization ID]
      signs a checkpoint now for each organization (or this one) with events since its last;
      needs AUDIT_SIGNING_KEY_FILE (the embedded setup has its own); prints {"checkpoints":[...]}
  help
      this text

Reads the same environment as the server (DATABASE_URL, JWT_SECRET, BATON_DATA_DIR, AUDIT_SIGNING_KEY_FILE). With no
DATABASE_URL it uses the embedded Postgres, the running server's if one runs. Results go to
stdout as JSON; logs and errors to stderr; exit 1 on any error.`;

class UsageError extends Error {}

const COMMANDS = ["org:create", "token", "bi:grant", "bi:revoke", "bi:refresh", "audit:verify", "audit:export", "audit:checkpoint"];

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  if (!command || command === "help" || command === "--help" || command === "-h") {
    console.log(USAGE);
    return;
  }
  if (!COMMANDS.includes(command)) throw new UsageError(`unknown command "${command}"`);
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        name: { type: "string" },
        "admin-email": { type: "string" },
        "admin-name": { type: "string" },
        email: { type: "string" },
        role: { type: "string" },
        organization: { type: "string" },
        "all-organizations": { type: "boolean" },
        from: { type: "string" },
        export: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const need = (name: string): string => {
    const value = values[name];
    if (typeof value !== "string" || value.trim() === "") throw new UsageError(`${command} needs --${name}`);
    return value;
  };
  if (command.startsWith("bi:")) return bi(command, need, values);
  if (command.startsWith("audit:")) return audit(command, need, values);
  const org = command === "org:create" ? { name: need("name"), adminEmail: need("admin-email"), adminName: need("admin-name") } : null;
  const email = org ? "" : need("email");

  const config = loadConfig();
  const logger = createLogger(config.logLevel === "info" ? "warn" : config.logLevel, "stderr");
  const db = await openDatabase(config, logger);
  try {
    let secret = config.jwtSecret;
    if (!secret) {
      const file = path.join(config.dataDir, "jwt-secret");
      secret = (await readFile(file, "utf8").catch(() => {
        throw new StartupError(`no JWT_SECRET and no ${file}`, "Set JWT_SECRET, or run `npm start` once to create the embedded setup's secret");
      })).trim();
    }
    const tokens = new TokenService(secret, db.dataSource);
    if (org) {
      const created = await new OrganizationService(db.dataSource).create(org.name, org.adminEmail, org.adminName);
      console.log(JSON.stringify({ ...created, adminToken: tokens.sign(created.adminUserId) }));
    } else {
      console.log(JSON.stringify(await tokens.tokenForEmail(email)));
    }
  } finally {
    await db.close();
  }
}

/** The bi:* commands: tenant-scoped BI access and the rollup (README, "BI access"). */
async function bi(command: string, need: (name: string) => string, values: Record<string, string | boolean | undefined>): Promise<void> {
  let organizationId: string | null = null;
  if (command === "bi:grant") {
    const all = values["all-organizations"] === true;
    if (all === (typeof values.organization === "string")) throw new UsageError("bi:grant needs exactly one of --organization ID and --all-organizations");
    organizationId = all ? null : need("organization");
  }
  const role = command === "bi:refresh" ? "" : need("role");
  const config = loadConfig();
  const logger = createLogger(config.logLevel === "info" ? "warn" : config.logLevel, "stderr");
  const db = await openDatabase(config, logger);
  try {
    const service = new BiAccessService(db.dataSource);
    const result =
      command === "bi:grant"
        ? await service.grant(role, organizationId)
        : command === "bi:revoke"
          ? await service.revoke(role)
          : { refreshed: await service.refreshRollup() };
    console.log(JSON.stringify(result));
  } finally {
    await db.close();
  }
}

/** The audit:* commands: the verifiable log (README, "A handover log anyone can verify"). */
async function audit(command: string, need: (name: string) => string, values: Record<string, string | boolean | undefined>): Promise<void> {
  const organizationId = command === "audit:checkpoint" ? (typeof values.organization === "string" ? values.organization : null) : need("organization");
  const from = typeof values.from === "string" ? values.from : null;
  if (command === "audit:verify" && typeof values.export === "string") {
    const text = await readFile(values.export, "utf8").catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`--export ${values.export} cannot be read (${err.code ?? err.message})`);
    });
    const lines: ExportLine[] = [];
    for (const [i, line] of text.split("\n").entries()) {
      if (line.trim() === "") continue;
      try {
        lines.push(JSON.parse(line) as ExportLine);
      } catch {
        throw new UsageError(`--export ${values.export}: line ${i + 1} is not JSON`);
      }
    }
    return report(verifyExport(lines, organizationId ?? undefined));
  }
  const config = loadConfig();
  const logger = createLogger(config.logLevel === "info" ? "warn" : config.logLevel, "stderr");
  const db = await openDatabase(config, logger);
  try {
    const key = command === "audit:checkpoint" ? await loadAuditSigningKey(config.audit.signingKeyFile, db.embedded ? { dataDir: config.dataDir } : null) : null;
    const service = new AuditService(db.dataSource, key);
    if (command === "audit:verify") return report(await service.verify(organizationId as string, from));
    if (command === "audit:export") {
      for await (const line of service.export(organizationId as string, from)) {
        if (!process.stdout.write(`${JSON.stringify(line)}\n`)) await new Promise((resolve) => process.stdout.once("drain", resolve));
      }
      return;
    }
    const signed = await service.checkpoint(0, organizationId);
    console.log(JSON.stringify({ checkpoints: signed.map((c) => ({ ...c, signedAt: c.signedAt.toISOString() })) }));
  } finally {
    await db.close();
  }
}

function report(verdict: Verdict): void {
  if (verdict.ok) {
    console.log(`ok ${verdict.events} events, ${verdict.checkpoints} checkpoints`);
    return;
  }
  console.log(`broken at ${verdict.sequence}: ${verdict.kind}: ${verdict.detail}`);
  process.exitCode = 1;
}

main().catch((err: unknown) => {
  if (err instanceof UsageError) console.error(`baton cli: ${err.message}\n\n${USAGE}`);
  else if (err instanceof ConfigError) console.error(`baton cli: ${err.message}`);
  else if (err instanceof StartupError) console.error(`baton cli: cannot start: ${err.message}`);
  else console.error(`baton cli: ${err instanceof Error && err.message ? err.message : String(err)}`);
  process.exit(1);
});
