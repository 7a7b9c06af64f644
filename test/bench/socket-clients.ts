/**
 * Subscribers for the benchmark's fan-out rows (issue #27), in a process of their own, so that the
 * server's figures are its own: SPEC_FILE names a JSON file { url, sockets: [{ token, subscriptions:
 * [query] }] }. Each socket speaks graphql-transport-ws with the `ws` package (no client library's
 * cost on top), subscribes, and records every assignment event it receives as
 * [socket, "requestId:TYPE", arrival (ms since the epoch, sub-millisecond)]. The parent drives it
 * over IPC: "open" (answers { opened, failed }), "load" (the load starts: this process's event-loop
 * delay is measured from here), "count" (the arrivals so far), "report" (answers the arrivals, the
 * counts of other messages and of closes, by code, and the event-loop delay), "close".
 */
import { readFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import WebSocket from "ws";

interface Spec {
  url: string;
  sockets: Array<{ token: string; subscriptions: string[] }>;
}

type Arrival = [number, string, number];

const spec = JSON.parse(readFileSync(process.env.SPEC_FILE ?? "", "utf8")) as Spec;
const wsUrl = spec.url.replace(/^http/, "ws");
const sockets: WebSocket[] = [];
let arrivals: Arrival[] = [];
let notifications = 0;
const closes = new Map<number, number>();
const now = (): number => performance.timeOrigin + performance.now();
/** This process's own stalls: an arrival is stamped late by as much (reported with the arrivals). */
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

function open(index: number, token: string, subscriptions: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new WebSocket(wsUrl, "graphql-transport-ws");
    let subscribed = false;
    socket.on("open", () => socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${token}` } })));
    socket.on("message", (data: Buffer) => {
      const text = data.toString("utf8");
      if (!subscribed) {
        if (!text.includes('"connection_ack"')) return;
        subscribed = true;
        subscriptions.forEach((query, i) => socket.send(JSON.stringify({ id: String(i), type: "subscribe", payload: { query } })));
        resolve(true);
        return;
      }
      const at = now();
      const message = JSON.parse(text) as { type: string; payload?: { data?: { assignmentEvents?: { type: string; request: { id: string } | null } } } };
      const event = message.payload?.data?.assignmentEvents;
      if (event) arrivals.push([index, `${event.request?.id ?? "-"}:${event.type}`, at]);
      else if (message.type === "next") notifications++;
    });
    socket.on("close", (code) => {
      closes.set(code, (closes.get(code) ?? 0) + 1);
      if (!subscribed) resolve(false);
    });
    socket.on("error", () => undefined);
    sockets[index] = socket;
  });
}

async function openAll(): Promise<{ opened: number; failed: number }> {
  let next = 0;
  let opened = 0;
  let failed = 0;
  // A few hundred handshakes at a time: the server's cap on sockets waiting to authenticate is not the point.
  await Promise.all(
    Array.from({ length: 200 }, async () => {
      while (next < spec.sockets.length) {
        const i = next++;
        if (await open(i, spec.sockets[i].token, spec.sockets[i].subscriptions)) opened++;
        else failed++;
      }
    }),
  );
  return { opened, failed };
}

process.on("message", (m: string) => {
  if (m === "open") {
    void openAll().then((r) => process.send?.(r));
  } else if (m === "count") {
    process.send?.(arrivals.length);
  } else if (m === "load") {
    loopDelay.reset();
    process.send?.("ok");
  } else if (m === "report") {
    const loop = { maxMs: loopDelay.max / 1e6, p99Ms: loopDelay.percentile(99) / 1e6 };
    process.send?.({ arrivals, notifications, closes: Object.fromEntries(closes), loop });
    arrivals = [];
    notifications = 0;
  } else if (m === "close") {
    for (const s of sockets) s?.close();
    setTimeout(() => process.exit(0), 500);
  }
});
process.send?.("ready");
