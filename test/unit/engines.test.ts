import { readFileSync } from "node:fs";
import path from "node:path";
import semver from "semver";
import { describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "../..");
const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(path.join(root, "package-lock.json"), "utf8")) as { packages: Record<string, { version?: string; engines?: { node?: string } | string[] }> };

describe("the Node version the README promises", () => {
  it("installs every locked package without an engine warning (#26 point 7: pin what needs newer)", () => {
    const promised = semver.minVersion(pkg.engines.node)!;
    const readme = readFileSync(path.join(root, "README.md"), "utf8");
    // The README says the same as package.json's engines.
    expect(readme).toContain(`Needs Node.js ${promised.major}.${promised.minor} or newer`);
    const refused: string[] = [];
    for (const [where, entry] of Object.entries(lock.packages)) {
      const range = !Array.isArray(entry.engines) ? entry.engines?.node : undefined;
      if (!where || !range) continue;
      if (!semver.satisfies(promised, range, { includePrerelease: true })) refused.push(`${where.replace(/^.*node_modules\//, "")}@${entry.version} wants node ${range}`);
    }
    expect(refused).toEqual([]);
  });
});
