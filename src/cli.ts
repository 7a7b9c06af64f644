import "reflect-metadata";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "./config";
import { openDatabase } from "./db/database";
import { createLogger } from "./logger";
import { TokenService } from "./modules/auth/token.service";
import { OrganizationService } from "./modules/organizations/organization.service";
import { BatonError } from "./errors";
import { readFile } from "node:fs/promises";
import path from "node:path";

const USAGE = `usage:
  npm run cli -- org:create --name NAME --admin-email EMAIL --admin-name NAME
  npm run cli -- token --email EMAIL`;

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  const { values } = parseArgs({
    args: rest,
    options: {
      name: { type: "string" },
      "admin-email": { type: "string" },
      "admin-name": { type: "string" },
      email: { type: "string" },
    },
  });
  if (command !== "org:create" && command !== "token") throw new Error(USAGE);

  const config = loadConfig();
  // Logs go to stderr so stdout stays pure JSON for scripts.
  const logger = createLogger(config.logLevel === "info" ? "warn" : config.logLevel);
  const db = await openDatabase(config, logger);
  try {
    const secret = config.jwtSecret ?? (await readFile(path.join(config.dataDir, "jwt-secret"), "utf8")).trim();
    const tokens = new TokenService(secret, db.dataSource);
    if (command === "org:create") {
      const { name, "admin-email": adminEmail, "admin-name": adminName } = values;
      if (!name || !adminEmail || !adminName) throw new Error(USAGE);
      const created = await new OrganizationService(db.dataSource).create(name, adminEmail, adminName);
      console.log(JSON.stringify({ ...created, adminToken: tokens.sign(created.adminUserId) }));
    } else {
      if (!values.email) throw new Error(USAGE);
      const rows = await db.dataSource.query<Array<{ id: string }>>(`SELECT id FROM users WHERE lower(email) = lower($1) AND active`, [
        values.email,
      ]);
      if (rows.length !== 1 || !rows[0]) {
        throw new Error(rows.length === 0 ? `no active user with email ${values.email}` : `several organizations have ${values.email}`);
      }
      console.log(JSON.stringify({ userId: rows[0].id, token: tokens.sign(rows[0].id) }));
    }
  } finally {
    await db.close();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError || err instanceof BatonError || err instanceof Error ? err.message : err);
  process.exit(1);
});
