import type { DataSource } from "typeorm";
import { BatonError, ErrorCode } from "../../errors";
import { requireAccess } from "../../policy/access";
import { ExportRepository, type OpenCopy } from "../../repositories/export.repository";
import type { ExportFormat, ExportSpec } from "../../repositories/tracking.repository";
import type { User } from "../users/user.entity";

export interface ExportFilters {
  from: Date | null;
  to: Date | null;
  format: ExportFormat;
}

/** The CSV exports: who may have them (the policy's tracking.export), of which rows, as a stream. */
export class TrackingExportService {
  private readonly repo: ExportRepository;

  constructor(dataSource: DataSource) {
    this.repo = new ExportRepository(dataSource);
  }

  /** The viewer's organization's rows of `spec` in [from, to), as Postgres writes them; FORBIDDEN or BAD_USER_INPUT first. */
  open(viewer: User, spec: ExportSpec, f: ExportFilters): Promise<OpenCopy> {
    requireAccess(viewer, "tracking.export");
    if (f.from && f.to && f.from > f.to) throw new BatonError(ErrorCode.BAD_USER_INPUT, "from must not be after to", { field: "from" });
    return this.repo.open(spec, { organizationId: viewer.organizationId, ...f });
  }
}
