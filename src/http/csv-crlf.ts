import { Transform, type TransformCallback } from "node:stream";

const QUOTE = 0x22;
const LF = 0x0a;
const CRLF = Buffer.from("\r\n");

/**
 * Postgres's `COPY … (FORMAT csv)` ends records with LF; RFC 4180 wants CRLF. This stream turns
 * every LF that ends a record into CRLF and leaves LFs inside quoted fields alone, keeping the
 * quote state across chunk boundaries. It jumps between quotes and newlines with
 * `Buffer.indexOf` rather than visiting each byte.
 */
export class CsvCrlfTransform extends Transform {
  private quoted = false;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const parts: Buffer[] = [];
    let start = 0;
    let pos = 0;
    let quote = chunk.indexOf(QUOTE, 0);
    let newline = chunk.indexOf(LF, 0);
    for (;;) {
      if (this.quoted) {
        // Inside a quoted field: only its closing quote matters ("" is a close and a reopen).
        if (quote === -1) break;
        this.quoted = false;
        pos = quote + 1;
        quote = chunk.indexOf(QUOTE, pos);
        if (newline !== -1 && newline < pos) newline = chunk.indexOf(LF, pos);
        continue;
      }
      if (quote !== -1 && (newline === -1 || quote < newline)) {
        this.quoted = true;
        pos = quote + 1;
        quote = chunk.indexOf(QUOTE, pos);
        continue;
      }
      if (newline === -1) break;
      parts.push(chunk.subarray(start, newline), CRLF);
      start = pos = newline + 1;
      newline = chunk.indexOf(LF, pos);
    }
    if (start === 0) {
      done(null, chunk);
      return;
    }
    if (start < chunk.length) parts.push(chunk.subarray(start));
    done(null, Buffer.concat(parts));
  }
}
