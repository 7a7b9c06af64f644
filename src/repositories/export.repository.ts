import type { Readable } from "node:stream";
import type { Pool, PoolClient } from "pg";
import { to as copyTo } from "pg-copy-streams";
import type { DataSource } from "typeorm";
import { type ExportFilter, type ExportSpec, exportCopy } from "./tracking.repository";

const onClientError = (): void => {}; // the COPY's stream fails with the same error

/** An open COPY: its CSV rows, and the release of its connection once the reader is done. */
export interface OpenCopy {
  rows: Readable;
  /** `finished`: the COPY ran to its end (the connection is reused); otherwise it is dropped. */
  release(finished: boolean): void;
}

/** Streams a `bi`/`reporting` view as CSV with Postgres's `COPY … TO STDOUT` on a connection of its own. */
export class ExportRepository {
  private readonly pool: Pool;

  constructor(dataSource: DataSource) {
    this.pool = (dataSource.driver as unknown as { master: Pool }).master;
  }

  async open(spec: ExportSpec, f: ExportFilter): Promise<OpenCopy> {
    const client: PoolClient = await this.pool.connect();
    // While it is ours the pool does not listen on it: a connection dropped mid-export must not end the process.
    client.on("error", onClientError);
    const release = (finished: boolean) => {
      client.off("error", onClientError);
      // A COPY that did not finish may leave the connection mid-protocol: drop it, never reuse it.
      client.release(!finished);
    };
    try {
      const rows = client.query(copyTo(exportCopy(spec, (value) => client.escapeLiteral(value), f)));
      return { rows, release };
    } catch (err) {
      release(false);
      throw err;
    }
  }
}
