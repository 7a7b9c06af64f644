import type { DataSource } from "typeorm";
import { poolSql } from "../../db/sql";
import { BatchRepository, RELATIONS } from "../../repositories/batch.repository";

/** The relations a GraphQL operation's loaders read by key (a request's chat, a record's people...). */
export type RelationName = keyof typeof RELATIONS;
/** The row type of a relation. */
export type RelationRow<N extends RelationName> = InstanceType<(typeof RELATIONS)[N]["target"]>;

/**
 * Rows by key, many keys in one statement, within one organization: what the transport's
 * loaders batch. Another organization's keys find nothing, as keys that do not exist.
 */
export class RelationService {
  private readonly batch: BatchRepository;

  constructor(dataSource: DataSource) {
    this.batch = new BatchRepository(poolSql(dataSource));
  }

  byKeys<N extends RelationName>(name: N, organizationId: string, keys: readonly string[]): Promise<Array<RelationRow<N> | null>> {
    const relation: (typeof RELATIONS)[RelationName] = RELATIONS[name];
    return this.batch.byKeys<object>(relation, organizationId, keys) as Promise<Array<RelationRow<N> | null>>;
  }
}
