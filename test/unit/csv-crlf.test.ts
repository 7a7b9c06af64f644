import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { CsvCrlfTransform } from "../../src/http/csv-crlf";

/** Feeds `input` through the transform cut into chunks at the given offsets. */
async function convert(input: string, cuts: number[]): Promise<string> {
  const bytes = Buffer.from(input);
  const bounds = [0, ...cuts.filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b), bytes.length];
  const chunks = bounds.slice(1).map((end, i) => bytes.subarray(bounds[i], end));
  return text(Readable.from(chunks).pipe(new CsvCrlfTransform()));
}

// What Postgres's COPY (FORMAT csv) writes: LF after each record, quotes only where needed.
const POSTGRES_CSV = [
  "id,name,note",
  '1,"O\'Brien, ""Bob""\nSenior",',
  '2,"Zoë ""Acme""\r\nBranch",""',
  '3,plain,"ends with quote """',
  '4,"""",x',
  "",
].join("\n");

describe("CsvCrlfTransform", () => {
  it("ends each record with CRLF and keeps line breaks inside quoted fields as they were", async () => {
    const out = await convert(POSTGRES_CSV, []);
    expect(out).toBe(
      ["id,name,note", '1,"O\'Brien, ""Bob""\nSenior",', '2,"Zoë ""Acme""\r\nBranch",""', '3,plain,"ends with quote """', '4,"""",x', ""].join("\r\n"),
    );
    const rows: string[][] = parse(out, { record_delimiter: "\r\n" });
    expect(rows).toEqual([
      ["id", "name", "note"],
      ["1", "O'Brien, \"Bob\"\nSenior", ""],
      ["2", 'Zoë "Acme"\r\nBranch', ""],
      ["3", "plain", 'ends with quote "'],
      ["4", '"', "x"],
    ]);
  });

  it("gives the same bytes however the input is cut into chunks, including inside quotes and multi-byte characters", async () => {
    const whole = await convert(POSTGRES_CSV, []);
    const length = Buffer.byteLength(POSTGRES_CSV);
    for (let cut = 1; cut < length; cut++) expect(await convert(POSTGRES_CSV, [cut]), `cut at ${cut}`).toBe(whole);
    let seed = 7;
    const random = () => (seed = (seed * 48271) % 2147483647) % length;
    for (let round = 0; round < 200; round++) {
      expect(await convert(POSTGRES_CSV, [random(), random(), random(), random()])).toBe(whole);
    }
    for (let size = 1; size <= 4; size++) {
      const cuts = Array.from({ length: Math.ceil(length / size) }, (_, i) => i * size);
      expect(await convert(POSTGRES_CSV, cuts), `chunks of ${size}`).toBe(whole);
    }
  });

  it("passes a chunk with no record end through untouched", async () => {
    expect(await convert("abc", [])).toBe("abc");
    expect(await convert("", [])).toBe("");
  });
});
