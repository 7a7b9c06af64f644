import type { Request, Response } from "express";
import { type BatonError, ErrorCode } from "../errors";

/** The HTTP status of a request that failed as a whole with this code (otherwise 200, as GraphQL answers). */
const STATUS: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.BAD_USER_INPUT]: 400,
  [ErrorCode.UNAUTHENTICATED]: 401,
  [ErrorCode.FORBIDDEN]: 403,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.PAYLOAD_TOO_LARGE]: 413,
  [ErrorCode.RATE_LIMITED]: 429,
  [ErrorCode.IDEMPOTENCY_KEY_IN_USE]: 409,
  [ErrorCode.IDEMPOTENCY_KEY_REUSED]: 422,
  [ErrorCode.INTERNAL_SERVER_ERROR]: 500,
  [ErrorCode.SERVICE_UNAVAILABLE]: 503,
};

export const httpStatusOf = (code: ErrorCode): number => STATUS[code] ?? 400;

/** `Retry-After` for the codes that have one. */
export const retryAfterOf = (error: BatonError): string | null =>
  typeof error.details.retryAfterSeconds === "number" ? String(error.details.retryAfterSeconds) : null;

/** A whole-request failure outside GraphQL (the CSV export, the per-IP limit), in GraphQL's error shape. */
export function sendError(res: Response, error: BatonError): void {
  const retryAfter = retryAfterOf(error);
  if (retryAfter) res.setHeader("retry-after", retryAfter);
  res.status(httpStatusOf(error.code)).json({ errors: [{ message: error.message, extensions: { code: error.code, ...error.details } }] });
}

/** Unknown paths: a JSON 404 in the same shape, never express's HTML page. */
export function notFoundJson(req: Request, res: Response): void {
  res.status(404).json({ errors: [{ message: `Nothing at ${req.method} ${req.path}`, extensions: { code: ErrorCode.NOT_FOUND } }] });
}
