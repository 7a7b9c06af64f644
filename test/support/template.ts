import { Client } from "pg";
import { DataSource } from "typeorm";
import { migrations } from "../../src/db/migrations";

export function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Creates `name` and runs every migration in it, as `npm run migrate` would. */
export async function migrateTemplate(adminUrl: string, name: string): Promise<void> {
  await adminQuery(adminUrl, `CREATE DATABASE "${name}"`);
  const ds = new DataSource({ type: "postgres", url: databaseUrl(adminUrl, name), migrations, migrationsTableName: "migrations" });
  await ds.initialize();
  try {
    await ds.runMigrations({ transaction: "each" });
  } finally {
    await ds.destroy();
  }
}
