import { lookup as dnsLookup } from "node:dns";
import http from "node:http";
import https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { isPrivateAddress, publicOnlyLookup, RefusedAddress } from "./public-address";

/** Bytes of a failing response's body kept (for `lastError`); the rest is read and dropped. */
export const KEPT_BODY_BYTES = 1024;
/** A response body longer than this is not read to its end: the connection is closed. */
const MAX_READ_BYTES = 1 << 20;

export interface WebhookPost {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** How one attempt ended: a 2xx is `ok`; anything else carries why, in at most 1 kB. */
export interface WebhookAttempt {
  ok: boolean;
  status: number | null;
  error: string | null;
  /** timeout | network | refused_address | http: for logs and metrics. */
  outcome: "delivered" | "http" | "timeout" | "network" | "refused_address";
  ms: number;
}

export interface SenderOptions {
  timeoutMs: number;
  /** Loopback, private and link-local targets allowed (WEBHOOK_ALLOW_PRIVATE_NETWORKS). */
  allowPrivateNetworks: boolean;
  /** The resolver asked at connect time (the system's by default; tests give their own). */
  resolve?: typeof dnsLookup;
}


/**
 * Posts webhook messages: one request per attempt, `timeoutMs` for all of it (connect, answer and
 * body), redirects not followed (a 3xx is a failure), at most 1 kB of a failing body kept, and
 * without private networks allowed, no connection to a loopback, private, link-local or reserved
 * address, judged after DNS at connect time. Connections are kept alive between attempts.
 */
export class WebhookSender {
  private readonly agents = {
    http: new http.Agent({ keepAlive: true, maxSockets: 16, scheduling: "fifo" }),
    https: new https.Agent({ keepAlive: true, maxSockets: 16, scheduling: "fifo" }),
  };

  private readonly lookup: LookupFunction;

  constructor(private readonly opts: SenderOptions) {
    this.lookup = publicOnlyLookup(opts.resolve ?? dnsLookup);
  }

  post(message: WebhookPost, started = performance.now(), retried = false): Promise<WebhookAttempt> {
    const done = (a: Omit<WebhookAttempt, "ms">): WebhookAttempt => ({ ...a, ms: Math.round((performance.now() - started) * 10) / 10 });
    let url: URL;
    try {
      url = new URL(message.url);
    } catch {
      return Promise.resolve(done({ ok: false, status: null, error: "the endpoint's url is not valid", outcome: "network" }));
    }
    const secure = url.protocol === "https:";
    if (!secure && !(url.protocol === "http:" && this.opts.allowPrivateNetworks)) {
      return Promise.resolve(done({ ok: false, status: null, error: "only https:// URLs are posted to", outcome: "refused_address" }));
    }
    const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
    if (!this.opts.allowPrivateNetworks && isIP(host) && isPrivateAddress(host)) {
      return Promise.resolve(done({ ok: false, status: null, error: `${host} is not a public address`, outcome: "refused_address" }));
    }
    return new Promise((resolve) => {
      let settled = false;
      const finish = (a: Omit<WebhookAttempt, "ms">) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(done(a));
      };
      const request = (secure ? https : http).request(url, {
        method: "POST",
        agent: secure ? this.agents.https : this.agents.http,
        lookup: this.opts.allowPrivateNetworks ? undefined : this.lookup,
        headers: { ...message.headers, "content-type": "application/json", "content-length": String(Buffer.byteLength(message.body)), "user-agent": "Baton-Webhooks/1" },
      });
      const timer = setTimeout(() => {
        finish({ ok: false, status: null, error: `no answer within ${this.opts.timeoutMs / 1000} s`, outcome: "timeout" });
        request.destroy();
      }, Math.max(1, this.opts.timeoutMs - (performance.now() - started)));
      request.on("error", (err) => {
        // A kept-alive connection the receiver closed just as it was reused (its idle timeout,
        // often 5 s): the request never reached it. Sent again at once on a new connection, as
        // Node's documentation advises, rather than waiting for the retry schedule.
        const code = (err as NodeJS.ErrnoException).code;
        if (!settled && !retried && request.reusedSocket && (code === "ECONNRESET" || code === "EPIPE")) {
          settled = true;
          clearTimeout(timer);
          resolve(this.post(message, started, true));
          return;
        }
        if (err instanceof RefusedAddress) finish({ ok: false, status: null, error: err.message, outcome: "refused_address" });
        else finish({ ok: false, status: null, error: clip(`${(err as NodeJS.ErrnoException).code ?? "ERROR"}: ${err.message}`), outcome: "network" });
      });
      request.on("response", (response) => {
        const status = response.statusCode ?? 0;
        const ok = status >= 200 && status < 300;
        const kept: Buffer[] = [];
        let keptBytes = 0;
        let read = 0;
        response.on("data", (chunk: Buffer) => {
          read += chunk.length;
          if (!ok && keptBytes < KEPT_BODY_BYTES) {
            kept.push(chunk.subarray(0, KEPT_BODY_BYTES - keptBytes));
            keptBytes += Math.min(chunk.length, KEPT_BODY_BYTES - keptBytes);
          }
          if (read > MAX_READ_BYTES) {
            response.destroy();
            request.destroy();
            end();
          }
        });
        const end = () => {
          if (ok) return finish({ ok: true, status, error: null, outcome: "delivered" });
          const body = Buffer.concat(kept).toString("utf8");
          const redirect = status >= 300 && status < 400 ? ` (redirect to ${response.headers.location ?? "?"} not followed)` : "";
          finish({ ok: false, status, error: clip(`HTTP ${status}${redirect}${body ? `: ${body}` : ""}`), outcome: "http" });
        };
        response.on("end", end);
        response.on("error", end);
        response.on("close", end);
      });
      request.end(message.body);
    });
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}

/** At most 1 kB (of UTF-16 code units; the column's limit is on characters). */
function clip(text: string): string {
  return text.length <= KEPT_BODY_BYTES ? text : `${text.slice(0, KEPT_BODY_BYTES - 1)}…`;
}
