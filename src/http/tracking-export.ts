import { pipeline } from "node:stream/promises";
import type { Request, Response } from "express";
import type { Pool, PoolClient } from "pg";
import { to as copyTo } from "pg-copy-streams";
import type { DataSource } from "typeorm";
import { isDatabaseUnavailable } from "../db/faults";
import type { RateLimits } from "../rate-limits";
import { sendError } from "./errors";
import { BatonError, ErrorCode, serviceUnavailable } from "../errors";
import type { Logger } from "../logger";
import type { TokenService } from "../modules/auth/token.service";
import { requireAccess } from "../policy/access";
import { CsvCrlfTransform } from "./csv-crlf";

/** The CSV's columns, in order: the `bi.engagement_tracking_records` view's, less the organization id. */
export const EXPORT_COLUMNS = [
  "record_id",
  "organization_name",
  "kind",
  "status",
  "chat_session_id",
  "customer_name",
  "customer_phone",
  "request_id",
  "bulk_operation_id",
  "recipient_type",
  "initiated_by_id",
  "initiated_by_name",
  "initiated_by_email",
  "from_user_id",
  "from_user_name",
  "from_user_email",
  "to_user_id",
  "to_user_name",
  "to_user_email",
  "responded_by_id",
  "responded_by_name",
  "responded_by_email",
  "note",
  "reason",
  "requested_at",
  "responded_at",
  "expires_at",
  "timeout_seconds",
  "response_seconds",
  "created_at",
  "updated_at",
] as const;

const TIMESTAMPS = new Set(["requested_at", "responded_at", "expires_at", "created_at", "updated_at"]);
/** Timestamps leave Postgres as ISO 8601 UTC text, the same as the GraphQL API's DateTime. */
const asText = (column: string): string =>
  TIMESTAMPS.has(column) ? `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${column}` : column;

function parseTime(value: unknown, name: string): Date | null {
  if (value === undefined || value === "") return null;
  const date = typeof value === "string" ? new Date(value) : new Date(NaN);
  if (Number.isNaN(date.getTime())) throw new BatonError(ErrorCode.BAD_USER_INPUT, `${name} must be an ISO 8601 time`, { field: name });
  return date;
}


const onClientError = (): void => {}; // the COPY's stream fails with the same error

/**
 * GET /exports/engagement-tracking-records.csv?from=…&to=… (managers and admins, bearer token):
 * the organization's records created in [from, to), oldest first, streamed from Postgres's
 * `COPY … TO STDOUT` with backpressure, so memory stays flat however many rows there are.
 */
export function trackingExportHandler(dataSource: DataSource, tokens: TokenService, logger: Logger, rateLimits?: RateLimits) {
  const pool = (dataSource.driver as unknown as { master: Pool }).master;
  return async (req: Request, res: Response): Promise<void> => {
    let client: PoolClient | undefined;
    let copying = false;
    try {
      const { user } = await tokens.authenticate(req.headers.authorization);
      await rateLimits?.user(user.id);
      requireAccess(user, "tracking.export");
      const from = parseTime(req.query.from, "from");
      const to = parseTime(req.query.to, "to");
      if (from && to && from > to) throw new BatonError(ErrorCode.BAD_USER_INPUT, "from must not be after to", { field: "from" });

      client = await pool.connect();
      // While it is ours the pool does not listen on it: a connection dropped mid-export must not end the process.
      client.on("error", onClientError);
      // COPY takes no bind parameters: the values go in as literals quoted by pg's escapeLiteral.
      const where = [`organization_id = ${client.escapeLiteral(user.organizationId)}::uuid`];
      if (from) where.push(`created_at >= ${client.escapeLiteral(from.toISOString())}::timestamptz`);
      if (to) where.push(`created_at < ${client.escapeLiteral(to.toISOString())}::timestamptz`);
      const copy = client.query(
        copyTo(
          `COPY (SELECT ${EXPORT_COLUMNS.map(asText).join(", ")} FROM bi.engagement_tracking_records
                  WHERE ${where.join(" AND ")} ORDER BY created_at, record_id)
             TO STDOUT WITH (FORMAT csv, HEADER true)`,
        ),
      );
      copying = true;
      res.status(200);
      res.setHeader("content-type", "text/csv; charset=utf-8");
      res.setHeader("content-disposition", 'attachment; filename="engagement-tracking-records.csv"');
      // Postgres formats the CSV (quoting per RFC 4180, header row included); we only turn its
      // record-ending LFs into CRLFs. pipeline() gives backpressure: a slow client pauses the COPY.
      await pipeline(copy, new CsvCrlfTransform(), res);
    } catch (err) {
      if (!res.headersSent && !res.destroyed) {
        // The same error shape as the GraphQL API's: message and extensions (code, field, ...).
        const error =
          err instanceof BatonError
            ? err
            : isDatabaseUnavailable(err)
              ? serviceUnavailable()
              : new BatonError(ErrorCode.INTERNAL_SERVER_ERROR, "Internal server error");
        if (error.code === ErrorCode.INTERNAL_SERVER_ERROR) logger.error({ err }, "export failed");
        sendError(res, error);
      } else {
        logger.warn({ err }, "export interrupted");
        res.destroy();
      }
    } finally {
      // A COPY that did not finish may leave the connection mid-protocol: drop it, never reuse it.
      client?.off("error", onClientError);
      client?.release(copying && !res.writableFinished);
    }
  };
}
