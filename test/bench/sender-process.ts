/**
 * The messages alone, for the webhooks row's floor (test/bench/scenarios/webhooks.ts): a process
 * that posts Standard Webhooks messages of a real delivery's size to the bench's receivers at a
 * fixed rate, with no database work at all: what sending the messages costs this machine's
 * cores (the sender's and the receivers' CPU), and nothing else of a delivery. It signs each
 * message as Baton does (HMAC-SHA256) and keeps its connections alive, at most 4 requests at once
 * per receiver (WEBHOOK_MAX_IN_FLIGHT's default). The parent sends `{ urls, perSecond, body }`
 * to start and "stop" to stop; the process answers with the number of messages answered.
 */
import { createHmac, randomUUID } from "node:crypto";
import http from "node:http";

interface Start {
  urls: string[];
  perSecond: number;
  body: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
const secret = Buffer.from("bench-secret-bench-secret-bench!");
let answered = 0;
let stopped = false;
const inFlight = new Map<string, number>();
const waiting: Array<() => void> = [];

function post(url: string, body: string): Promise<void> {
  const id = `msg_${randomUUID()}`;
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = createHmac("sha256", secret).update(`${id}.${timestamp}.${body}`).digest("base64");
  return new Promise((resolve) => {
    const req = http.request(url, {
      method: "POST",
      agent,
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": `v1,${signature}` },
    });
    req.on("response", (res) => {
      res.resume();
      res.on("end", () => {
        if ((res.statusCode ?? 0) < 300) answered++;
        resolve();
      });
    });
    req.on("error", () => resolve());
    req.end(body);
  });
}

async function run(start: Start): Promise<void> {
  const t0 = performance.now();
  for (let i = 0; !stopped; i++) {
    const due = t0 + (i * 1000) / start.perSecond;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const url = start.urls[i % start.urls.length];
    // Like a dispatcher's cap: at most 4 at once per receiver; past it, the message waits.
    while ((inFlight.get(url) ?? 0) >= 4) await new Promise<void>((r) => waiting.push(r));
    inFlight.set(url, (inFlight.get(url) ?? 0) + 1);
    const body = start.body.replace("SEQUENCE", String(i));
    void post(url, body).finally(() => {
      inFlight.set(url, (inFlight.get(url) ?? 1) - 1);
      waiting.shift()?.();
    });
  }
}

process.on("message", (m: Start | "stop") => {
  if (m === "stop") {
    stopped = true;
    setTimeout(() => process.send?.(answered), 200);
  } else {
    stopped = false;
    answered = 0;
    void run(m);
  }
});
