// `npm start`'s build: builds only what is stale, so that a second start answers within seconds.
// The server (tsc) when anything under src/ or migrations/, a tsconfig or the lockfile is newer
// than its last build; the console (codegen + vite) when anything under console/ (but the
// generated console/src/gql), the schema, codegen.yml or the lockfile is. With --all (`npm run
// build`, which tests and CI use) it builds both whatever their stamps say, and stamps them.
import { execSync } from "node:child_process";
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import process from "node:process";

const root = path.resolve(import.meta.dirname, "..");
const at = (...p) => path.join(root, ...p);

/** The newest modification time under these paths (files and directories, recursively). */
function newest(paths, skip = []) {
  let latest = 0;
  const visit = (p) => {
    if (!existsSync(p) || skip.some((s) => p.startsWith(s))) return;
    const st = statSync(p);
    latest = Math.max(latest, st.mtimeMs);
    if (st.isDirectory()) for (const entry of readdirSync(p)) if (entry !== "node_modules") visit(path.join(p, entry));
  };
  paths.forEach(visit);
  return latest;
}

const stampTime = (file) => (existsSync(file) ? statSync(file).mtimeMs : 0);
const lock = at("package-lock.json");

const parts = [
  {
    name: "server",
    stamp: at("dist", ".server-built"),
    inputs: [at("src"), at("migrations"), at("tsconfig.json"), at("tsconfig.build.json"), lock],
    skip: [],
    output: at("dist", "src", "main.js"),
    build: "npx tsc -p tsconfig.build.json",
  },
  {
    name: "console",
    stamp: at("dist", "console", ".console-built"),
    inputs: [at("console"), at("schema", "schema.graphql"), at("codegen.yml"), lock],
    skip: [at("console", "src", "gql")],
    output: at("dist", "console", "index.html"),
    build: "npm run -s build:console",
  },
];

for (const part of parts) {
  const fresh = !process.argv.includes("--all") && existsSync(part.output) && stampTime(part.stamp) > newest(part.inputs, part.skip);
  if (fresh) continue;
  process.stderr.write(`building the ${part.name}…\n`);
  execSync(part.build, { cwd: root, stdio: "inherit" });
  writeFileSync(part.stamp, `${new Date().toISOString()}\n`);
}
