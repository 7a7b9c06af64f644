/**
 * Webhook receivers for the benchmark, in a process of their own (as a CRM's would be, and so that
 * their answers do not queue behind the load generator's event loop): `RECEIVERS` plain node:http
 * servers on loopback answering 204, each message recorded as
 * [receiver, webhook-id, occurredAt (ms), arrival (ms)]. The parent asks for the records over IPC.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

type Arrival = [number, string, number, number];
let arrivals: Arrival[] = [];

async function main(): Promise<void> {
  const n = Number(process.env.RECEIVERS ?? "2");
  const urls: string[] = [];
  for (let i = 0; i < n; i++) {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const at = Date.now();
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { data: { occurredAt: string } };
        arrivals.push([i, String(req.headers["webhook-id"]), Date.parse(body.data.occurredAt), at]);
        res.statusCode = 204;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    urls.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`);
  }
  process.on("message", (m: string) => {
    if (m === "report") {
      process.send?.(arrivals);
      arrivals = [];
    }
  });
  process.send?.(urls);
}

void main();
