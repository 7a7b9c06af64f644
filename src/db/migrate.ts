import "reflect-metadata";
import { loadConfig } from "../config";
import { createLogger } from "../logger";
import { openDatabase } from "./database";

/** `npm run migrate`: apply pending migrations, nothing else. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const db = await openDatabase(config, logger);
  await db.close();
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
