import { once } from "node:events";
import type { Request, Response } from "express";
import type { Pool, PoolClient } from "pg";
import Cursor from "pg-cursor";
import type { DataSource } from "typeorm";
import { BatonError, ErrorCode } from "../../errors";
import type { Logger } from "../../logger";
import type { TokenService } from "../auth/token.service";
import { isManagerOrAdmin } from "../users/user.entity";

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

/** RFC 4180: quote a field holding a comma, quote, CR or LF, doubling its quotes. */
export function csvField(value: string | number | boolean | Date | null | undefined): string {
  if (value === null || value === undefined) return "";
  const text = value instanceof Date ? value.toISOString() : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const BATCH = 2_000;
const TIMESTAMPS = new Set(["requested_at", "responded_at", "expires_at", "created_at", "updated_at"]);
/** Timestamps leave Postgres as ISO 8601 UTC text, the same as the GraphQL API's DateTime. */
const asText = (column: string): string =>
  TIMESTAMPS.has(column) ? `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${column}` : column;

const csvLine = (values: ReadonlyArray<Parameters<typeof csvField>[0]>): string => `${values.map(csvField).join(",")}\r\n`;

function parseTime(value: unknown, name: string): Date | null {
  if (value === undefined || value === "") return null;
  const date = typeof value === "string" ? new Date(value) : new Date(NaN);
  if (Number.isNaN(date.getTime())) throw new BatonError(ErrorCode.BAD_USER_INPUT, `${name} must be an ISO 8601 time`, { field: name });
  return date;
}

const STATUS: Record<string, number> = {
  [ErrorCode.UNAUTHENTICATED]: 401,
  [ErrorCode.FORBIDDEN]: 403,
  [ErrorCode.BAD_USER_INPUT]: 400,
};

/**
 * GET /exports/engagement-tracking-records.csv?from=…&to=… (managers and admins, bearer token):
 * the organization's records created in [from, to), oldest first, streamed from a server-side
 * cursor with backpressure, so memory stays flat however many rows there are.
 */
export function trackingExportHandler(dataSource: DataSource, tokens: TokenService, logger: Logger) {
  const pool = (dataSource.driver as unknown as { master: Pool }).master;
  return async (req: Request, res: Response): Promise<void> => {
    let client: PoolClient | undefined;
    let broken = false;
    try {
      const { user } = await tokens.authenticate(req.headers.authorization);
      if (!isManagerOrAdmin(user)) throw new BatonError(ErrorCode.FORBIDDEN, "Only managers and admins may export tracking records");
      const from = parseTime(req.query.from, "from");
      const to = parseTime(req.query.to, "to");
      if (from && to && from > to) throw new BatonError(ErrorCode.BAD_USER_INPUT, "from must not be after to", { field: "from" });

      client = await pool.connect();
      const cursor = client.query(
        new Cursor<Array<Parameters<typeof csvField>[0]>>(
          `SELECT ${EXPORT_COLUMNS.map(asText).join(", ")} FROM bi.engagement_tracking_records
            WHERE organization_id = $1 AND ($2::timestamptz IS NULL OR created_at >= $2) AND ($3::timestamptz IS NULL OR created_at < $3)
            ORDER BY created_at, record_id`,
          [user.organizationId, from, to],
          { rowMode: "array" },
        ),
      );
      res.status(200);
      res.setHeader("content-type", "text/csv; charset=utf-8");
      res.setHeader("content-disposition", 'attachment; filename="engagement-tracking-records.csv"');
      res.write(csvLine([...EXPORT_COLUMNS]));
      let gone = false;
      res.once("close", () => (gone = true));
      // Read ahead one batch: Postgres produces the next while this one is formatted and sent.
      // At most two batches are in memory; a slow client holds us at `drain` (backpressure).
      let next = cursor.read(BATCH);
      for (;;) {
        const rows = await next;
        if (rows.length === 0 || gone) break;
        next = cursor.read(BATCH);
        if (!res.write(rows.map(csvLine).join(""))) await once(res, "drain");
      }
      await cursor.close();
      if (gone) throw new Error("client closed the export");
      res.end();
    } catch (err) {
      if (!res.headersSent) {
        const code = err instanceof BatonError ? err.code : ErrorCode.INTERNAL_SERVER_ERROR;
        if (!(err instanceof BatonError)) logger.error({ err }, "export failed");
        res.status(STATUS[code] ?? 500).json({
          errors: [{ message: err instanceof BatonError ? err.message : "Internal server error", extensions: { code } }],
        });
      } else {
        // The client went away or the cursor failed mid-stream: drop the connection, not reuse it.
        broken = true;
        logger.warn({ err }, "export interrupted");
        res.destroy();
      }
    } finally {
      client?.release(broken);
    }
  };
}
