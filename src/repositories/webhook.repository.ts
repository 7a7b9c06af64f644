import { fromRow } from "../db/hydrate";
import type { Sql, Statement } from "../db/sql";
import { WebhookEndpoint } from "../modules/webhooks/webhook-endpoint.entity";

const LIST: Statement = { name: "webhooks.list", text: "SELECT * FROM webhook_endpoints WHERE organization_id = $1 ORDER BY created_at, id" };
const FIND: Statement = { name: "webhooks.find", text: "SELECT * FROM webhook_endpoints WHERE id = $1 AND organization_id = $2" };
const COUNT: Statement = { name: "webhooks.count", text: "SELECT count(*)::int AS n FROM webhook_endpoints WHERE organization_id = $1" };
const INSERT: Statement = {
  name: "webhooks.insert",
  text: `INSERT INTO webhook_endpoints (id, organization_id, url, event_types, enabled, secret, created_at, updated_at)
         VALUES ($1, $2, $3, $4, true, $5, $6, $6) RETURNING *`,
};
const UPDATE: Statement = {
  name: "webhooks.update",
  text: `UPDATE webhook_endpoints
            SET url = coalesce($3, url), event_types = coalesce($4, event_types),
                enabled = coalesce($5, enabled),
                -- Enabling again clears why it was disabled.
                disabled_reason = CASE WHEN $5 THEN NULL ELSE disabled_reason END,
                updated_at = $6
          WHERE id = $1 AND organization_id = $2 RETURNING *`,
};
const ROTATE: Statement = {
  name: "webhooks.rotate",
  text: `UPDATE webhook_endpoints
            SET previous_secret = secret, previous_secret_until = $4, secret = $3, updated_at = $5
          WHERE id = $1 AND organization_id = $2 RETURNING *`,
};
const DELETE: Statement = { name: "webhooks.delete", text: "DELETE FROM webhook_endpoints WHERE id = $1 AND organization_id = $2 RETURNING id" };

/** Webhook endpoints, always within one organization (another's id finds nothing). */
export class WebhookRepository {
  constructor(private readonly db: Sql) {}

  async list(organizationId: string): Promise<WebhookEndpoint[]> {
    return (await this.db.rows<Record<string, unknown>>(LIST, [organizationId])).map((r) => fromRow(WebhookEndpoint, r));
  }

  async find(organizationId: string, id: string): Promise<WebhookEndpoint | null> {
    const [row] = await this.db.rows<Record<string, unknown>>(FIND, [id, organizationId]);
    return row ? fromRow(WebhookEndpoint, row) : null;
  }

  async count(organizationId: string): Promise<number> {
    const [row] = await this.db.rows<{ n: number }>(COUNT, [organizationId]);
    return row?.n ?? 0;
  }

  async insert(e: { id: string; organizationId: string; url: string; eventTypes: string[]; secret: string; now: Date }): Promise<WebhookEndpoint> {
    const [row] = await this.db.rows<Record<string, unknown>>(INSERT, [e.id, e.organizationId, e.url, e.eventTypes, e.secret, e.now]);
    return fromRow(WebhookEndpoint, row);
  }

  async update(
    organizationId: string,
    id: string,
    patch: { url: string | null; eventTypes: string[] | null; enabled: boolean | null },
    now: Date,
  ): Promise<WebhookEndpoint | null> {
    const [row] = await this.db.rows<Record<string, unknown>>(UPDATE, [id, organizationId, patch.url, patch.eventTypes, patch.enabled, now]);
    return row ? fromRow(WebhookEndpoint, row) : null;
  }

  async rotate(organizationId: string, id: string, secret: string, previousUntil: Date, now: Date): Promise<WebhookEndpoint | null> {
    const [row] = await this.db.rows<Record<string, unknown>>(ROTATE, [id, organizationId, secret, previousUntil, now]);
    return row ? fromRow(WebhookEndpoint, row) : null;
  }

  async delete(organizationId: string, id: string): Promise<boolean> {
    return (await this.db.rows(DELETE, [id, organizationId])).length > 0;
  }
}
