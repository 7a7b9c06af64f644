import "reflect-metadata";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { createApp } from "./app";
import { ConfigError, loadConfig } from "./config";
import { StartupError } from "./startup-error";
import { openDatabase } from "./db/database";
import { createLogger } from "./logger";
import { startMemoryTrim } from "./memory-trim";
import { OrganizationService } from "./modules/organizations/organization.service";
import { TokenService } from "./modules/auth/token.service";
import { loadAuditSigningKey } from "./kernel/audit-key-file";

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
  let auditKey: Awaited<ReturnType<typeof loadAuditSigningKey>>;
  try {
    auditKey = await loadAuditSigningKey(config.audit.signingKeyFile, db.embedded ? { dataDir: config.dataDir } : null);
  } catch (err) {
    await db.close();
    throw err;
  }
  if (!auditKey) logger.info("no AUDIT_SIGNING_KEY_FILE: the event chain is kept, but no checkpoint is signed");

  if (db.embedded) {
    const orgs = new OrganizationService(db.dataSource);
    if (await orgs.isEmpty()) {
      await orgs.seedDemo();
      logger.info("demo organization created");
    }
  }

  let app: Awaited<ReturnType<typeof createApp>>;
  try {
    app = await createApp({
      config,
      dataSource: db.dataSource,
      jwtSecret,
      logger,
      redisUrl: config.redisUrl,
      redisCluster: config.redisCluster,
      presenceTtlMs: config.presenceTtlMs,
      biRollupRefreshSeconds: config.biRollupRefreshSeconds,
      demo: db.embedded,
      auditKey,
      scheduler: {
        postgresUrl: db.url,
        mongoUrl: config.agendaMongoUrl,
        processEveryMs: config.agendaProcessEveryMs,
        sweepEveryMs: config.timeoutSweepIntervalMs,
        name: config.instanceName,
      },
    });
  } catch (err) {
    await db.close();
    throw err;
  }
  let url: string;
  try {
    url = await app.listen();
  } catch (err) {
    await app.stop().catch(() => undefined);
    await db.close();
    const code = (err as { code?: string }).code;
    if ((err as { metrics?: boolean }).metrics) {
      throw new StartupError((err as Error).message, "Set METRICS_PORT to a free port (0: any), or METRICS_ENABLED=false");
    }
    if (code === "EADDRINUSE") throw new StartupError(`port ${config.port} on ${config.host} is already in use`, "Stop what uses it, or set PORT to another port");
    if (code === "EACCES") throw new StartupError(`port ${config.port} on ${config.host} needs privileges`, "Set PORT to a port above 1023");
    if (code === "EADDRNOTAVAIL") throw new StartupError(`HOST ${config.host} is not an address of this machine`, "Set HOST to one (0.0.0.0 for all)");
    throw err;
  }
  logger.info({ metricsUrl: app.metricsUrl(), url }, "Baton is listening");
  const stopTrim = config.memoryTrim ? startMemoryTrim(logger) : () => {};

  if (db.embedded) {
    const tokens = new TokenService(jwtSecret, db.dataSource);
    const demo = await tokens.demoTokens();
    const lines = demo.map((u) => `  ${u.name.padEnd(10)} ${u.role.padEnd(8)} ${u.token}`);
    const consoleUrl = url.replace(/\/graphql$/, "/");
    process.stdout.write(`\nBaton console: ${consoleUrl} (sign in as a demo user)\nBaton GraphQL: ${url}\nDemo tokens (Authorization: Bearer <token>):\n${lines.join("\n")}\n\n`);
  }

  let stoppingSince = 0;
  const stop = async (signal: string) => {
    if (stoppingSince) {
      // Ctrl-C under `npm start` arrives twice at once (the terminal's and npm's forward): only a
      // signal sent later, by someone tired of waiting, cuts the drain short.
      if (Date.now() - stoppingSince < 2_000) return;
      logger.warn({ signal }, "second signal: stopping now, without waiting");
      process.exit(1);
    }
    stoppingSince = Date.now();
    logger.info({ signal, graceMs: config.shutdownGraceMs }, "stopping: readiness fails, requests in flight finish");
    stopTrim();
    try {
      await app.stop();
      await db.close();
      logger.info("stopped");
      process.exit(0);
    } catch (err) {
      logger.error({ err }, "unclean stop");
      process.exit(1);
    }
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  // A promise nobody awaited failed: log it as the bug it is; one stray rejection must not take
  // every connected client down with the process.
  process.on("unhandledRejection", (err) => logger.error({ err }, "unhandled rejection"));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(err.message);
  } else if (err instanceof StartupError) {
    console.error(`baton: cannot start: ${err.message}`);
  } else {
    console.error("baton: cannot start:", err);
  }
  process.exit(1);
});
