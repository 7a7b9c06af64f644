import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ApolloServerPlugin } from "@apollo/server";
import type { NextFunction, Request, Response } from "express";
import { pinoHttp } from "pino-http";
import type { Context } from "../graphql/context";
import { isDatabaseUnavailable } from "../db/faults";
import { oncePer } from "../kernel/time";
import { codeOf, isInternal } from "../graphql/format-error";
import type { Logger } from "../logger";
import type { Metrics, OperationOutcome } from "../metrics";

const INCOMING_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const QUIET = new Set(["/healthz", "/readyz", "/metrics"]);

/** What a GraphQL operation answered over HTTP adds to its request's line, by response. */
const operationFacts = new WeakMap<ServerResponse, Record<string, unknown>>();

/** The object whose members the HTTP request's log line will carry (the operation's facts go in it). */
export function requestLine(res: ServerResponse): Record<string, unknown> {
  let facts = operationFacts.get(res);
  if (!facts) operationFacts.set(res, (facts = {}));
  return facts;
}

const withOperation = (res: ServerResponse, value: Record<string, unknown>): Record<string, unknown> => {
  const facts = operationFacts.get(res);
  return facts ? { ...value, ...facts } : value;
};

/**
 * One JSON line per HTTP request (pino-http): method, path, status, duration and a request id,
 * taken from the client's `X-Request-Id` when it is sane, else made, and echoed in the response's
 * `X-Request-Id`; error lines carry it as `reqId`. A GraphQL request's line also carries its
 * operation's facts (`requestLine`): one line per request, not one for HTTP and one for GraphQL.
 * Probes (/healthz, /readyz, /metrics) log at debug. Headers are never logged (they hold tokens).
 */
export function requestLogging(logger: Logger) {
  const http = pinoHttp({
    logger,
    genReqId: (req: IncomingMessage, res: ServerResponse) => {
      const incoming = req.headers["x-request-id"];
      const id = typeof incoming === "string" && INCOMING_ID.test(incoming) ? incoming : randomUUID();
      res.setHeader("x-request-id", id);
      return id;
    },
    customLogLevel: (req, res, err) => {
      // The client went away before the answer was sent (a cancelled fetch, a closed tab): its
      // choice, not a fault here; one info line, not an error an operator would be paged for.
      if (aborted(req, res) && (!err || isStatusOnly(err))) return "info";
      if (err && !isStatusOnly(err)) return "error";
      // 503: the database is unavailable. The outage is logged once per burst where it is met;
      // each request then is a warning of one line, not an error with a stack.
      if (res.statusCode === 503) return "warn";
      if (res.statusCode >= 500) return "error";
      return QUIET.has((req.url ?? "").split("?")[0] ?? "") ? "debug" : "info";
    },
    // pino-http makes an Error (with a stack) for any 5xx; for a 503 it says nothing the status does not.
    customErrorObject: (req, res, err, value: Record<string, unknown>) =>
      withOperation(
        res,
        aborted(req, res) && isStatusOnly(err)
          ? { res: value.res, responseTime: value.responseTime, aborted: true }
          : res.statusCode === 503 && isStatusOnly(err)
            ? { res: value.res, responseTime: value.responseTime }
            : value,
      ),
    customSuccessObject: (req, res, value: Record<string, unknown>) => withOperation(res, aborted(req, res) ? { ...value, aborted: true } : value),
    customSuccessMessage: (req, res) => (aborted(req, res) ? "request aborted" : "request completed"),
    customErrorMessage: (req, res, err) =>
      aborted(req, res) && isStatusOnly(err) ? "request aborted" : res.statusCode === 503 && isStatusOnly(err) ? "request completed" : "request errored",
    customProps: (req) => ({ reqId: req.id }),
    serializers: {
      req: (req: { method?: string; url?: string; remoteAddress?: string }) => ({ method: req.method, path: req.url?.split("?")[0], remoteAddress: req.remoteAddress }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
    },
    quietReqLogger: true,
  });
  return (req: Request, res: Response, next: NextFunction) => {
    http(req, res);
    next();
  };
}

/** The client closed the connection before the whole answer was written. */
const aborted = (req: IncomingMessage, res: ServerResponse): boolean => !res.writableFinished && (req.destroyed || res.destroyed);

/** The error pino-http makes up for a 5xx answer without one of its own. */
const isStatusOnly = (err: Error | undefined): boolean => !!err && /^failed with status code \d+$/.test(err.message);

/** How an operation's answer ended: `OK`, or the code of its first error. */
export const outcomeCode = (errors: ReadonlyArray<{ extensions?: { code?: unknown } }> | undefined): string => {
  const code = errors?.[0]?.extensions?.code;
  return errors?.length ? (typeof code === "string" ? code : "INTERNAL_SERVER_ERROR") : "OK";
};

/**
 * One metric sample and one log line per GraphQL operation, over HTTP or a socket: over HTTP the
 * facts go on the request's own line when `line` is given (see `requestLine`), else on a line of
 * their own ("graphql operation").
 */
export function operationObserver(logger: Logger, metrics: Metrics | null) {
  return (
    outcome: OperationOutcome & { userId?: string | null; organizationId?: string | null; requestId?: string | null; transport: "http" | "ws" },
    line?: Record<string, unknown>,
  ) => {
    metrics?.operation(outcome);
    const facts = {
      operation: outcome.operation ?? null,
      code: outcome.code,
      durationMs: Math.round(outcome.seconds * 1000 * 10) / 10,
      userId: outcome.userId ?? null,
      organizationId: outcome.organizationId ?? null,
      transport: outcome.transport,
    };
    if (line) Object.assign(line, facts);
    else logger.info({ reqId: outcome.requestId ?? null, ...facts }, "graphql operation");
  };
}

/**
 * Apollo's side: observes every operation it answers, including those refused before they ran,
 * and logs its unexpected errors (with their stacks) and database outages (once per burst).
 */
export function observeOperations(observe: ReturnType<typeof operationObserver>, logger: Logger): ApolloServerPlugin<Context> {
  const outageLog = oncePer(5_000);
  return {
    async contextCreationDidFail({ error }) {
      const code = codeOf(error);
      if (isInternal(code)) logger.error({ err: error }, "unexpected error while authenticating");
      observe({ operation: null, code, seconds: 0, transport: "http" });
    },
    async requestDidStart() {
      const started = performance.now();
      return {
        async didEncounterErrors({ errors, contextValue, operationName }) {
          for (const error of errors) {
            if (isDatabaseUnavailable(error)) {
              if (!outageLog()) continue;
              logger.warn({ reqId: contextValue.requestId, err: error.message }, "database unavailable: operations fail with SERVICE_UNAVAILABLE");
            } else if (isInternal(codeOf(error))) {
              logger.error({ reqId: contextValue.requestId, operation: operationName ?? null, err: error.originalError ?? error }, "unexpected error");
            }
          }
        },
        async willSendResponse({ response, operationName, request, contextValue }) {
          const errors = response.body.kind === "single" ? response.body.singleResult.errors : undefined;
          observe({
            operation: operationName ?? request.operationName,
            code: outcomeCode(errors),
            seconds: (performance.now() - started) / 1000,
            userId: contextValue.viewer?.id,
            organizationId: contextValue.viewer?.organizationId,
            requestId: contextValue.requestId,
            transport: "http",
          }, contextValue.requestLine);
        },
      };
    },
  };
}
