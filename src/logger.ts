import pino from "pino";
import type { LogLevel } from "./config";

export type Logger = pino.Logger;

/** Structured JSON logs, on stdout (the CLI: stderr). */
export function createLogger(level: LogLevel, to: "stdout" | "stderr" = "stdout"): Logger {
  return pino(
    { level, base: { service: "baton" } },
    // Asynchronous: a line per request must not block the event loop on a slow stdout. Lines are
    // written 4 kB at a time, or 200 ms after the first one waiting: under load a system call per
    // ~15 lines, not one per line (the event loop paid ~6% of its time writing lines one by one).
    // pino flushes at exit; a SIGKILL may lose the last 200 ms.
    pino.destination({ dest: to === "stdout" ? 1 : 2, sync: false, minLength: 4096, periodicFlush: 200 }),
  );
}
