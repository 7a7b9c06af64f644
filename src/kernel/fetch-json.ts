import { lookup as dnsLookup } from "node:dns";
import http from "node:http";
import https from "node:https";
import { isIP } from "node:net";
import { isPrivateAddress, publicOnlyLookup, RefusedAddress } from "./public-address";

/** A document from another server could not be read: unreachable, refused, too slow, not JSON, not 200. */
export class FetchFailed extends Error {
  constructor(
    message: string,
    /** The server answered (a status, a body): not a network fault. */
    readonly answered: boolean,
  ) {
    super(message);
    this.name = "FetchFailed";
  }
}

export interface FetchJsonOptions {
  timeoutMs: number;
  /** Bytes read at most; a longer body fails. */
  maxBytes: number;
  /** http:// and loopback, private or link-local addresses allowed (tests). */
  allowPrivateNetworks: boolean;
  /** The resolver asked at connect time (tests give their own). */
  resolve?: typeof dnsLookup;
}

export type FetchJson = (url: string) => Promise<{ body: unknown; maxAgeSeconds: number | null }>;

/**
 * GETs a JSON document from a server Baton does not run (an identity provider's discovery
 * document and keys): https only and no private address, judged after DNS at connect time,
 * unless private networks are allowed; redirects not followed; `timeoutMs` for all of it; at most
 * `maxBytes`. Also returns the response's Cache-Control max-age, when it gives one.
 */
export function fetchJson(opts: FetchJsonOptions): FetchJson {
  const lookup = publicOnlyLookup(opts.resolve ?? dnsLookup);
  return (url) =>
    new Promise((resolve, reject) => {
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        return reject(new FetchFailed(`not a URL: ${url}`, false));
      }
      const secure = target.protocol === "https:";
      if (!secure && !(target.protocol === "http:" && opts.allowPrivateNetworks)) {
        return reject(new FetchFailed(`${url} is not https://`, false));
      }
      const host = target.hostname.replace(/^\[|\]$/g, "");
      if (!opts.allowPrivateNetworks && isIP(host) && isPrivateAddress(host)) {
        return reject(new FetchFailed(`${host} is not a public address`, false));
      }
      const request = (secure ? https : http).get(
        target,
        {
          headers: { accept: "application/json", "user-agent": "Baton" },
          timeout: opts.timeoutMs,
          ...(opts.allowPrivateNetworks ? {} : { lookup }),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size > opts.maxBytes) {
              request.destroy(new FetchFailed(`${url} answered more than ${opts.maxBytes} bytes`, true));
              return;
            }
            chunks.push(chunk);
          });
          res.on("end", () => {
            clearTimeout(deadline);
            if (res.statusCode !== 200) return reject(new FetchFailed(`${url} answered ${res.statusCode}`, true));
            try {
              const maxAge = /(?:^|,)\s*max-age=(\d+)/i.exec(res.headers["cache-control"] ?? "");
              resolve({ body: JSON.parse(Buffer.concat(chunks).toString("utf8")), maxAgeSeconds: maxAge?.[1] ? Number(maxAge[1]) : null });
            } catch {
              reject(new FetchFailed(`${url} did not answer JSON`, true));
            }
          });
          res.on("error", (err) => reject(err instanceof FetchFailed ? err : new FetchFailed(`${url}: ${err.message}`, false)));
        },
      );
      // The socket's timeout is for idleness; this one is for the whole exchange.
      const deadline = setTimeout(() => request.destroy(new FetchFailed(`${url} did not answer within ${opts.timeoutMs} ms`, false)), opts.timeoutMs);
      request.on("timeout", () => request.destroy(new FetchFailed(`${url} did not answer within ${opts.timeoutMs} ms`, false)));
      request.on("error", (err) => {
        clearTimeout(deadline);
        if (err instanceof FetchFailed) return reject(err);
        if (err instanceof RefusedAddress) return reject(new FetchFailed(err.message, false));
        reject(new FetchFailed(`${url}: ${err.message}`, false));
      });
    });
}
