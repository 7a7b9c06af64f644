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
  help
      this text

Reads the same environment as the server (DATABASE_URL, JWT_SECRET, BATON_DATA_DIR). With no
DATABASE_URL it uses the embedded Postgres, the running server's if one runs. Results go to
stdout as JSON; logs and errors to stderr; exit 1 on any error.`;

class UsageError extends Error {}

const COMMANDS = ["org:create", "token", "bi:grant", "bi:revoke", "bi:refresh"];

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

main().catch((err: unknown) => {
  if (err instanceof UsageError) console.error(`baton cli: ${err.message}\n\n${USAGE}`);
  else if (err instanceof ConfigError) console.error(`baton cli: ${err.message}`);
  else if (err instanceof StartupError) console.error(`baton cli: cannot start: ${err.message}`);
  else console.error(`baton cli: ${err instanceof Error && err.message ? err.message : String(err)}`);
  process.exit(1);
});
