import "reflect-metadata";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { buildBatonSchema, printBatonSchema } from "./schema";

/** `--write` refreshes schema/schema.graphql; `--check` fails when it differs from the code's schema. */
async function main(): Promise<void> {
  const file = path.resolve(__dirname, "../../../schema/schema.graphql");
  const sdl = printBatonSchema(await buildBatonSchema());
  if (process.argv.includes("--write")) {
    await writeFile(file, sdl);
    console.log(`wrote ${path.relative(process.cwd(), file)}`);
    return;
  }
  const committed = await readFile(file, "utf8").catch(() => "");
  if (committed !== sdl) {
    console.error("schema/schema.graphql differs from the schema the code builds: run `npm run schema:print` and commit it.");
    process.exit(1);
  }
  console.log("schema/schema.graphql is current");
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
