import { AsyncLocalStorage } from "node:async_hooks";
import pino from "pino";
import type { LogLevel } from "./config";

export type Logger = pino.Logger;

/** The request being served, so every log line written while serving it carries its id. */
export const requestScope = new AsyncLocalStorage<{ requestId: string }>();

/** Structured JSON logs, on stdout (the CLI: stderr); lines written inside a request carry `reqId`. */
export function createLogger(level: LogLevel, to: "stdout" | "stderr" = "stdout"): Logger {
  return pino(
    {
      level,
      base: { service: "baton" },
      mixin: () => {
        const scope = requestScope.getStore();
        return scope ? { reqId: scope.requestId } : {};
      },
    },
    pino.destination(to === "stdout" ? 1 : 2),
  );
}
