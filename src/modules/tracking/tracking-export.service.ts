import type { DataSource } from "typeorm";
import { BatonError, ErrorCode } from "../../errors";
import { requireAccess } from "../../policy/access";
import { ExportRepository, type OpenCopy } from "../../repositories/export.repository";
import { EVENTS_EXPORT, type ExportFormat, RECORDS_EXPORT } from "../../repositories/tracking.repository";
import type { User } from "../users/user.entity";
import { TrackingKind, TrackingStatus } from "./engagement-tracking-record.entity";
import { isUuid } from "../../validation";

/** The filters as a request gives them (query-string values): checked here, after the viewer's right. */
export interface ExportQuery {
  from?: unknown;
  to?: unknown;
  format?: unknown;
  /** The tracking records' export only: the list's filters (engagementTrackingRecords' filter). */
  status?: unknown;
  kind?: unknown;
  userId?: unknown;
  chatSessionId?: unknown;
}

/** One of `values`, or null when absent; BAD_USER_INPUT naming the field otherwise. */
function parseOneOf(value: unknown, name: string, values: readonly string[]): string | null {
  if (value === undefined || value === "") return null;
  if (typeof value === "string" && values.includes(value)) return value;
  throw new BatonError(ErrorCode.BAD_USER_INPUT, `${name} must be one of ${values.join(", ")}`, { field: name });
}

function parseId(value: unknown, name: string): string | null {
  if (value === undefined || value === "") return null;
  if (typeof value === "string" && isUuid(value)) return value.toLowerCase();
  throw new BatonError(ErrorCode.BAD_USER_INPUT, `${name} must be an id`, { field: name });
}

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

/** The exports: the tracking records, and the assignment events. */
export type ExportName = "records" | "events";
const SPECS = { records: RECORDS_EXPORT, events: EVENTS_EXPORT } as const;

/** An export being written: Postgres's CSV rows, to be released when done, and the format asked. */
export type OpenExport = OpenCopy & { format: ExportFormat };

/** The CSV exports: who may have them (the policy's tracking.export), of which rows, as a stream. */
export class TrackingExportService {
  private readonly repo: ExportRepository;

  constructor(dataSource: DataSource) {
    this.repo = new ExportRepository(dataSource);
  }

  /**
   * The viewer's organization's rows of `spec` in [from, to), as Postgres writes them, and the
   * format; FORBIDDEN (before the filters are even read) or BAD_USER_INPUT first.
   */
  async open(viewer: User, name: ExportName, q: ExportQuery): Promise<OpenExport> {
    const spec = SPECS[name];
    requireAccess(viewer, "tracking.export");
    const from = parseTime(q.from, "from");
    const to = parseTime(q.to, "to");
    const format = parseFormat(q.format);
    if (from && to && from > to) throw new BatonError(ErrorCode.BAD_USER_INPUT, "from must not be after to", { field: "from" });
    const narrowed = {
      status: parseOneOf(q.status, "status", Object.values(TrackingStatus)),
      kind: parseOneOf(q.kind, "kind", Object.values(TrackingKind)),
      userId: parseId(q.userId, "userId"),
      chatSessionId: parseId(q.chatSessionId, "chatSessionId"),
    };
    if (name !== "records") {
      const given = Object.entries(narrowed).find(([, v]) => v !== null);
      if (given) throw new BatonError(ErrorCode.BAD_USER_INPUT, `${given[0]} narrows the tracking records' export only`, { field: given[0] });
    }
    return { ...(await this.repo.open(spec, { organizationId: viewer.organizationId, from, to, format, ...narrowed })), format };
  }
}
