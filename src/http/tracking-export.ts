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
import { type ExportFormat, type ExportSpec, exportCopy } from "../repositories/tracking.repository";
import { CsvCrlfTransform } from "./csv-crlf";

function parseTime(value: unknown, name: string): Date | null {
  if (value === undefined || value === "") return null;
  const date = typeof value === "string" ? new Date(value) : new Date(NaN);
  if (Number.isNaN(date.getTime())) throw new BatonError(ErrorCode.BAD_USER_INPUT, `${name} must be an ISO 8601 time`, { field: name });
  return date;
}


function parseFormat(value: unknown): ExportFormat {
  if (value === undefined || value === "" || value === "csv") return "csv";
  if (value === "excel") return "excel";
  throw new BatonError(ErrorCode.BAD_USER_INPUT, "format must be csv or excel", { field: "format" });
}

/** Excel reads a CSV as UTF-8 only when it starts with a byte-order mark (else "Zoë" shows as "ZoÃ«"). */
const UTF8_BOM = "\uFEFF";

const onClientError = (): void => {}; // the COPY's stream fails with the same error

/**
 * GET /exports/engagement-tracking-records.csv and /exports/assignment-events.csv
 * ?from=…&to=…&format=csv|excel (managers and admins, bearer token): the organization's rows of
 * the `bi` view in [from, to), oldest first, streamed from Postgres's `COPY … TO STDOUT` with
 * backpressure, so memory stays flat however many rows there are. `format=excel` adds a
 * byte-order mark and neutralizes cells a spreadsheet would run as formulas.
 */
export function exportHandler(spec: ExportSpec, filename: string, dataSource: DataSource, tokens: TokenService, logger: Logger, rateLimits?: RateLimits) {
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
      const format = parseFormat(req.query.format);
      if (from && to && from > to) throw new BatonError(ErrorCode.BAD_USER_INPUT, "from must not be after to", { field: "from" });

      client = await pool.connect();
      // While it is ours the pool does not listen on it: a connection dropped mid-export must not end the process.
      client.on("error", onClientError);
      const copy = client.query(
        copyTo(exportCopy(spec, (value) => (client as PoolClient).escapeLiteral(value), { organizationId: user.organizationId, from, to, format })),
      );
      copying = true;
      res.status(200);
      res.setHeader("content-type", "text/csv; charset=utf-8");
      res.setHeader("content-disposition", `attachment; filename="${filename}"`);
      if (format === "excel") res.write(UTF8_BOM);
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
