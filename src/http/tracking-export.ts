import { pipeline } from "node:stream/promises";
import type { Request, Response } from "express";
import { isDatabaseUnavailable } from "../db/faults";
import type { RateLimits } from "../rate-limits";
import { sendError } from "./errors";
import { BatonError, ErrorCode, serviceUnavailable } from "../errors";
import type { Logger } from "../logger";
import type { ExportName, OpenExport } from "../modules/tracking/tracking-export.service";
import type { Services } from "../services";
import { CsvCrlfTransform } from "./csv-crlf";

/** Excel reads a CSV as UTF-8 only when it starts with a byte-order mark (else "Zoë" shows as "ZoÃ«"). */
const UTF8_BOM = "\uFEFF";

/**
 * GET /exports/engagement-tracking-records.csv and /exports/assignment-events.csv
 * ?from=…&to=…&format=csv|excel (managers and admins, bearer token; the tracking records' also
 * &status=…&kind=…&userId=…&chatSessionId=…, as their GraphQL list): the organization's rows of
 * the view in [from, to), oldest first, streamed from Postgres's `COPY … TO STDOUT` with
 * backpressure, so memory stays flat however many rows there are. `format=excel` adds a
 * byte-order mark (the service neutralizes cells a spreadsheet would run as formulas). This
 * handler speaks HTTP only: who may export what is the service's (TrackingExportService).
 */
export function exportHandler(name: ExportName, filename: string, services: Pick<Services, "tokens" | "exports">, logger: Logger, rateLimits?: RateLimits) {
  return async (req: Request, res: Response): Promise<void> => {
    let copy: OpenExport | undefined;
    try {
      const { user } = await services.tokens.authenticate(req.headers.authorization);
      await rateLimits?.user(user.id);
      const q = req.query;
      copy = await services.exports.open(user, name, {
        from: q.from,
        to: q.to,
        format: q.format,
        status: q.status,
        kind: q.kind,
        userId: q.userId,
        chatSessionId: q.chatSessionId,
      });
      res.status(200);
      res.setHeader("content-type", "text/csv; charset=utf-8");
      res.setHeader("content-disposition", `attachment; filename="${filename}"`);
      if (copy.format === "excel") res.write(UTF8_BOM);
      // Postgres formats the CSV (quoting per RFC 4180, header row included); we only turn its
      // record-ending LFs into CRLFs. pipeline() gives backpressure: a slow client pauses the COPY.
      await pipeline(copy.rows, new CsvCrlfTransform(), res);
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
      copy?.release(res.writableFinished);
    }
  };
}
