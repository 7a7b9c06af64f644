import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

// The layering rule of `npm run check` (.dependency-cruiser.cjs), run on small probe trees: it
// must refuse an upward import and accept a downward one.
const root = path.resolve(__dirname, "../..");
const depcruise = path.join(root, "node_modules/dependency-cruiser/bin/dependency-cruise.mjs");
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function cruise(files: Record<string, string>): { status: number | null; output: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), "baton-layers-"));
  dirs.push(dir);
  cpSync(path.join(root, ".dependency-cruiser.cjs"), path.join(dir, ".dependency-cruiser.cjs"));
  writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { module: "commonjs", target: "es2022" } }));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
  const run = spawnSync(process.execPath, [depcruise, "src", "--config", ".dependency-cruiser.cjs", "--output-type", "err"], { cwd: dir, encoding: "utf8" });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe("the layering rule", () => {
  it("fails when the engine or a service imports the GraphQL layer", () => {
    const run = cruise({
      "src/graphql/context.ts": "export const context = 1;\n",
      "src/engine/handover-engine.ts": 'import { context } from "../graphql/context";\nexport const engine = context;\n',
      "src/modules/users/user.service.ts": 'import { context } from "../../graphql/context";\nexport const users = context;\n',
    });
    expect(run.status).not.toBe(0);
    expect(run.output).toContain("services-not-to-transport: src/engine/handover-engine.ts → src/graphql/context.ts");
    expect(run.output).toContain("services-not-to-transport: src/modules/users/user.service.ts → src/graphql/context.ts");
  });

  it("fails when a repository imports the engine, or the database a repository", () => {
    const run = cruise({
      "src/engine/handover-engine.ts": "export const engine = 1;\n",
      "src/repositories/handover.repository.ts": 'import { engine } from "../engine/handover-engine";\nexport const repo = engine;\n',
      "src/db/sql.ts": 'import { repo } from "../repositories/handover.repository";\nexport const sql = repo;\n',
    });
    expect(run.status).not.toBe(0);
    expect(run.output).toContain("repositories-not-upward: src/repositories/handover.repository.ts → src/engine/handover-engine.ts");
    expect(run.output).toContain("database-and-kernel-not-upward: src/db/sql.ts → src/repositories/handover.repository.ts");
  });

  it("fails for a file under src/ that belongs to no layer, and for an entity importing anything but entities", () => {
    const run = cruise({
      "src/db/sql.ts": "export const sql = 1;\n",
      "src/modules/users/helpers.ts": 'import { sql } from "../../db/sql";\nexport const helper = sql;\n',
      "src/modules/users/user.entity.ts": 'import { sql } from "../../db/sql";\nexport const user = sql;\n',
    });
    expect(run.status).not.toBe(0);
    expect(run.output).toContain("every-file-in-a-layer: src/modules/users/helpers.ts → src/db/sql.ts");
    expect(run.output).toContain("model-only-model: src/modules/users/user.entity.ts → src/db/sql.ts");
  });

  it("fails when an entity, a service or a repository imports GraphQL or HTTP, and lets a module's object types do so", () => {
    const pkg = (name: string) => ({
      [`node_modules/${name}/package.json`]: JSON.stringify({ name, main: "index.js" }),
      [`node_modules/${name}/index.js`]: "module.exports = {};\n",
    });
    const run = cruise({
      ...pkg("type-graphql"),
      ...pkg("graphql"),
      ...pkg("express"),
      "src/modules/users/user.entity.ts": 'import { ObjectType } from "type-graphql";\nexport const user = ObjectType;\n',
      "src/modules/users/user.service.ts": 'import { GraphQLError } from "graphql";\nexport const users = GraphQLError;\n',
      "src/repositories/user.repository.ts": 'import express from "express";\nexport const repo = express;\n',
      "src/modules/users/user.graphql.ts": 'import { ObjectType } from "type-graphql";\nimport { user } from "./user.entity";\nexport const shape = [ObjectType, user];\n',
    });
    expect(run.status).not.toBe(0);
    expect(run.output).toContain("domain-without-transport: src/modules/users/user.entity.ts → node_modules/type-graphql/index.js");
    expect(run.output).toContain("domain-without-transport: src/modules/users/user.service.ts → node_modules/graphql/index.js");
    expect(run.output).toContain("domain-without-transport: src/repositories/user.repository.ts → node_modules/express/index.js");
    expect(run.output).not.toContain("src/modules/users/user.graphql.ts →");
  });

  it("fails when the transport reaches a repository or the database but through a service", () => {
    const run = cruise({
      "src/db/sql.ts": "export const sql = 1;\n",
      "src/db/faults.ts": "export const isDatabaseUnavailable = () => false;\n",
      "src/repositories/batch.repository.ts": 'import { sql } from "../db/sql";\nexport const batch = sql;\n',
      "src/graphql/loaders.ts": 'import { batch } from "../repositories/batch.repository";\nexport const loaders = batch;\n',
      "src/app.ts": 'import { sql } from "./db/sql";\nimport { isDatabaseUnavailable } from "./db/faults";\nexport const app = [sql, isDatabaseUnavailable];\n',
    });
    expect(run.status).not.toBe(0);
    expect(run.output).toContain("transport-through-services: src/graphql/loaders.ts → src/repositories/batch.repository.ts");
    expect(run.output).toContain("transport-through-services: src/app.ts → src/db/sql.ts");
    expect(run.output).not.toContain("src/app.ts → src/db/faults.ts");
  });

  it("passes transport -> engine -> repositories -> database", () => {
    const run = cruise({
      "src/db/sql.ts": "export const sql = 1;\n",
      "src/repositories/handover.repository.ts": 'import { sql } from "../db/sql";\nexport const repo = sql;\n',
      "src/engine/handover-engine.ts": 'import { repo } from "../repositories/handover.repository";\nexport const engine = repo;\n',
      "src/graphql/context.ts": 'import { engine } from "../engine/handover-engine";\nexport const context = engine;\n',
    });
    expect(run.output).toContain("no dependency violations found");
    expect(run.status).toBe(0);
  });
});
