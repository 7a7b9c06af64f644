import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  id: string;
  timestamp: string;
  signature: string;
  headers: Record<string, string>;
  body: string;
  json: HookMessage;
  at: number;
  /** What the receiver answered (null: it hung). */
  answer: number | null;
}

interface Person {
  id: string;
  name: string;
  email: string;
}

/** The body Baton posts (README "Webhooks"), as far as the tests read it. */
export interface HookMessage {
  type: string;
  timestamp: string;
  data: {
    sequence: string;
    type: string;
    occurredAt: string;
    organizationId: string;
    actor: Person | null;
    fromUser: Person;
    toUser: Person;
    chat: { id: string; ownerId: string; status: string; customerName: string; customerPhone: string };
    request: { id: string; kind: string; status: string; reason: string | null; note: string | null; hop: number } | null;
    trackingRecord: { id: string; kind: string; status: string };
  };
}

/** What the receiver does with a message: answer with a status, or never answer. */
export type Behaviour = (m: Received) => number | "hang";

/** A real HTTP receiver on loopback that records every message (accepted or not) in arrival order. */
export class WebhookReceiver {
  readonly all: Received[] = [];
  behaviour: Behaviour = () => 204;
  private server: Server | null = null;
  url = "";

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const headers = flat(req.headers);
        const m: Received = {
          id: headers["webhook-id"] ?? "",
          timestamp: headers["webhook-timestamp"] ?? "",
          signature: headers["webhook-signature"] ?? "",
          headers,
          body,
          json: JSON.parse(body) as HookMessage,
          at: Date.now(),
          answer: null,
        };
        this.all.push(m);
        const answer = this.behaviour(m);
        m.answer = answer === "hang" ? null : answer;
        if (answer === "hang") return; // never answers; the sender's timeout ends it
        res.statusCode = answer;
        res.end(answer >= 400 ? `receiver said ${answer}` : "");
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
    return this.url;
  }

  /** Messages answered with a 2xx, in arrival order. */
  accepted(): Received[] {
    return this.all.filter((m) => m.answer !== null && m.answer >= 200 && m.answer < 300);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

function flat(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(", ") : v;
  return out;
}

/** Waits until `check` returns true (polling), or fails after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, ms = 10_000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}
