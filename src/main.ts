import "reflect-metadata";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { createApp } from "./app";
import { ConfigError, loadConfig } from "./config";
import { openDatabase } from "./db/database";
import { createLogger } from "./logger";
import { OrganizationService } from "./modules/organizations/organization.service";
import { TokenService } from "./modules/auth/token.service";

/** The embedded setup keeps its secret beside its data, so demo tokens survive restarts. */
async function localSecret(dataDir: string): Promise<string> {
  const file = path.join(dataDir, "jwt-secret");
  try {
    return (await readFile(file, "utf8")).trim();
  } catch {
    const secret = randomBytes(32).toString("hex");
    await mkdir(dataDir, { recursive: true });
    await writeFile(file, secret, { mode: 0o600 });
    return secret;
  }
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const db = await openDatabase(config, logger);
  const jwtSecret = config.jwtSecret ?? (await localSecret(config.dataDir));

  if (db.embedded) {
    const orgs = new OrganizationService(db.dataSource);
    if (await orgs.isEmpty()) {
      await orgs.seedDemo();
      logger.info("demo organization created");
    }
  }

  const app = await createApp({
    config,
    dataSource: db.dataSource,
    jwtSecret,
    logger,
    redisUrl: config.redisUrl,
    presenceTtlMs: config.presenceTtlMs,
    scheduler: {
      postgresUrl: db.url,
      mongoUrl: config.agendaMongoUrl,
      processEveryMs: config.agendaProcessEveryMs,
      sweepEveryMs: config.timeoutSweepIntervalMs,
      name: config.instanceName,
    },
  });
  const url = await app.listen();
  logger.info({ url }, "Baton is listening");

  if (db.embedded) {
    const tokens = new TokenService(jwtSecret, db.dataSource);
    const demo = await db.dataSource.query<Array<{ id: string; name: string; email: string; role: string }>>(
      `SELECT u.id, u.name, u.email, u.role FROM users u JOIN organizations o ON o.id = u.organization_id
        WHERE o.name = 'Demo Org' AND u.active ORDER BY u.role, u.name`,
    );
    const lines = demo.map((u) => `  ${u.name.padEnd(10)} ${u.role.padEnd(8)} ${tokens.sign(u.id)}`);
    process.stdout.write(`\nBaton GraphQL: ${url}\nDemo tokens (Authorization: Bearer <token>):\n${lines.join("\n")}\n\n`);
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping");
    try {
      await app.stop();
      await db.close();
      process.exit(0);
    } catch (err) {
      logger.error({ err }, "unclean stop");
      process.exit(1);
    }
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(err.message);
  } else {
    console.error(err);
  }
  process.exit(1);
});
