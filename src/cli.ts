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
import { poolSql } from "./db/sql";
import { UserRepository } from "./repositories/user.repository";

const USAGE = `usage: npm run cli -- <command> [options]

commands:
  org:create --name NAME --admin-email EMAIL --admin-name NAME
      a new organization and its first admin; prints {"organizationId","adminUserId","adminToken"}
  token --email EMAIL
      a 7-day token for that active user; prints {"userId","token"}
  help
      this text

Reads the same environment as the server (DATABASE_URL, JWT_SECRET, BATON_DATA_DIR). With no
DATABASE_URL it uses the embedded Postgres, the running server's if one runs. Results go to
stdout as JSON; logs and errors to stderr; exit 1 on any error.`;

class UsageError extends Error {}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  if (!command || command === "help" || command === "--help" || command === "-h") {
    console.log(USAGE);
    return;
  }
  if (command !== "org:create" && command !== "token") throw new UsageError(`unknown command "${command}"`);
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        name: { type: "string" },
        "admin-email": { type: "string" },
        "admin-name": { type: "string" },
        email: { type: "string" },
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
      const rows = await new UserRepository(poolSql(db.dataSource)).activeByEmail(email);
      if (rows.length !== 1 || !rows[0]) {
        throw new Error(rows.length === 0 ? `no active user has the email ${email}` : `${rows.length} organizations have an active user with the email ${email}`);
      }
      console.log(JSON.stringify({ userId: rows[0].id, token: tokens.sign(rows[0].id) }));
    }
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
