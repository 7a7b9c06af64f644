import pino from "pino";
import type { LogLevel } from "./config";

export type Logger = pino.Logger;

/** Structured JSON logs, on stdout (the CLI: stderr). */
export function createLogger(level: LogLevel, to: "stdout" | "stderr" = "stdout"): Logger {
  return pino(
    { level, base: { service: "baton" } },
    // Asynchronous: a line per request must not block the event loop on a slow stdout; pino flushes at exit.
    pino.destination({ dest: to === "stdout" ? 1 : 2, sync: false }),
  );
}
