import { randomUUID } from "node:crypto";
import type { DataSource } from "typeorm";
import { poolSql } from "../../db/sql";
import { afterCommit } from "../../db/unit-of-work";
import { badInput, BatonError, ErrorCode, notFound } from "../../errors";
import { privateAddressesOf, type Resolve, systemResolve } from "../../kernel/public-address";
import { type SecretBox, secretsInForce } from "../../kernel/secret-box";
import { newWebhookSecret } from "../../kernel/standard-webhooks";
import { requireAccess } from "../../policy/access";
import { WebhookRepository } from "../../repositories/webhook.repository";
import { WebhookDeliveryRepository } from "../../repositories/webhook-delivery.repository";
import type { Page, PageArgs } from "../../kernel/page";
import { type WebhookDelivery, WebhookDeliveryStatus } from "./webhook-delivery.entity";
import { requireId } from "../../validation";
import { AssignmentEventType } from "../assignments/assignment-event.entity";
import type { User } from "../users/user.entity";
import type { WebhookEndpoint } from "./webhook-endpoint.entity";

/** At most this many endpoints per organization. */
export const MAX_WEBHOOK_ENDPOINTS = 20;
/** After a rotation the previous secret signs too, this long, so receivers can switch without losing a message. */
export const ROTATION_OVERLAP_MS = 24 * 3600 * 1000;
const MAX_URL_LENGTH = 2048;

export interface WebhookOptions {
  /** Seals secrets at rest when it holds a key (WEBHOOK_SECRET_KEY). */
  box: SecretBox;
  /** http:// and loopback, private or link-local addresses allowed (tests, on-premises CRMs). */
  allowPrivateNetworks: boolean;
  resolve?: Resolve;
  clock?: () => Date;
  /** Told when endpoints change or deliveries are queued again, so they are sent at once (the dispatcher). */
  delivery?: { endpointsChanged(): void; queued(): void };
}

export interface EndpointInput {
  url?: unknown;
  eventTypes?: readonly unknown[] | null;
  enabled?: boolean | null;
}

/** The endpoint and its secret: the only time the secret is shown. */
export interface EndpointWithSecret {
  endpoint: WebhookEndpoint;
  secret: string;
}

/**
 * Webhook endpoints (issue #22), the admins' to manage: a URL that may only reach the public
 * internet (checked after DNS; again at connect time by the sender), the event types it wants,
 * and a Standard Webhooks secret, shown once, stored sealed when WEBHOOK_SECRET_KEY is set.
 */
export class WebhookService {
  private readonly repo: WebhookRepository;
  private readonly deliveries: WebhookDeliveryRepository;
  private readonly resolve: Resolve;
  private readonly clock: () => Date;

  constructor(
    dataSource: DataSource,
    private readonly opts: WebhookOptions,
  ) {
    this.repo = new WebhookRepository(poolSql(dataSource));
    this.deliveries = new WebhookDeliveryRepository(poolSql(dataSource));
    this.resolve = opts.resolve ?? systemResolve;
    this.clock = opts.clock ?? (() => new Date());
  }

  /** Tells the dispatcher once the change is committed (inside an idempotent mutation's unit, at its commit). */
  private told(tell: () => void): Promise<void> {
    return afterCommit(tell, () => undefined);
  }

  async list(viewer: User): Promise<WebhookEndpoint[]> {
    requireAccess(viewer, "webhooks.manage");
    return this.repo.list(viewer.organizationId);
  }

  async create(viewer: User, input: EndpointInput): Promise<EndpointWithSecret> {
    requireAccess(viewer, "webhooks.manage");
    const url = await this.requireUrl(input.url);
    const eventTypes = requireEventTypes(input.eventTypes ?? []);
    if ((await this.repo.count(viewer.organizationId)) >= MAX_WEBHOOK_ENDPOINTS) {
      throw new BatonError(ErrorCode.LIMIT_EXCEEDED, `An organization has at most ${MAX_WEBHOOK_ENDPOINTS} webhook endpoints`, { field: "url" });
    }
    const secret = newWebhookSecret();
    const endpoint = await this.repo.insert({
      id: randomUUID(),
      organizationId: viewer.organizationId,
      url,
      eventTypes,
      secret: this.opts.box.seal(secret),
      now: this.clock(),
    });
    await this.told(() => this.opts.delivery?.endpointsChanged());
    return { endpoint, secret };
  }

  async update(viewer: User, id: string, input: EndpointInput): Promise<WebhookEndpoint> {
    requireAccess(viewer, "webhooks.manage");
    const endpointId = requireId(id, "id");
    const url = input.url === undefined || input.url === null ? null : await this.requireUrl(input.url);
    const eventTypes = input.eventTypes === undefined || input.eventTypes === null ? null : requireEventTypes(input.eventTypes);
    if (input.enabled !== undefined && input.enabled !== null && typeof input.enabled !== "boolean") throw badInput("enabled must be true or false", "enabled");
    const updated = await this.repo.update(viewer.organizationId, endpointId, { url, eventTypes, enabled: input.enabled ?? null }, this.clock());
    if (!updated) throw notFound("Webhook endpoint");
    await this.told(() => this.opts.delivery?.endpointsChanged());
    return updated;
  }

  /** A new secret, shown once; the previous one keeps signing for ROTATION_OVERLAP_MS. */
  async rotateSecret(viewer: User, id: string): Promise<EndpointWithSecret> {
    requireAccess(viewer, "webhooks.manage");
    const endpointId = requireId(id, "id");
    const secret = newWebhookSecret();
    const now = this.clock();
    const endpoint = await this.repo.rotate(viewer.organizationId, endpointId, this.opts.box.seal(secret), new Date(now.getTime() + ROTATION_OVERLAP_MS), now);
    if (!endpoint) throw notFound("Webhook endpoint");
    return { endpoint, secret };
  }

  async delete(viewer: User, id: string): Promise<boolean> {
    requireAccess(viewer, "webhooks.manage");
    if (!(await this.repo.delete(viewer.organizationId, requireId(id, "id")))) throw notFound("Webhook endpoint");
    await this.told(() => this.opts.delivery?.endpointsChanged());
    return true;
  }

  /** An endpoint's deliveries, newest first, of one status or all. */
  async deliveriesOf(viewer: User, endpointId: string, status: unknown, page: PageArgs): Promise<Page<WebhookDelivery>> {
    requireAccess(viewer, "webhooks.manage");
    const id = requireId(endpointId, "endpointId");
    if (status !== undefined && status !== null && !Object.values(WebhookDeliveryStatus).includes(status as WebhookDeliveryStatus)) {
      throw badInput("status must be PENDING, DELIVERED or FAILED", "status");
    }
    if (!(await this.repo.find(viewer.organizationId, id))) throw notFound("Webhook endpoint");
    return this.deliveries.list(viewer.organizationId, id, (status as WebhookDeliveryStatus | null | undefined) ?? null, page);
  }

  /**
   * Queues again every event after `afterSequence` to the endpoint: deliveries it had (delivered
   * or failed; the same webhook-id, so a receiver that has one already can tell) and events it
   * never got (while it was disabled, or of types it did not want then but wants now). Returns how
   * many were queued.
   */
  async redeliver(viewer: User, endpointId: string, afterSequence: unknown): Promise<number> {
    requireAccess(viewer, "webhooks.manage");
    const id = requireId(endpointId, "endpointId");
    if (typeof afterSequence !== "string" || !/^\d{1,18}$/.test(afterSequence)) throw badInput("afterSequence must be an event sequence (digits)", "afterSequence");
    const queued = await this.deliveries.redeliver(viewer.organizationId, id, afterSequence, this.clock());
    if (queued === null) throw notFound("Webhook endpoint");
    if (queued > 0) await this.told(() => this.opts.delivery?.queued());
    return queued;
  }

  /** The secrets that sign a message to `endpoint` now: its own, and during a rotation the previous one. */
  secretsOf(endpoint: WebhookEndpoint, now: Date = this.clock()): string[] {
    return secretsInForce(this.opts.box, endpoint, now);
  }

  /**
   * A URL Baton may post to: https (http too with private networks allowed), no credentials in
   * it, and a host none of whose addresses is loopback, private, link-local or otherwise
   * reserved, unless private networks are allowed.
   */
  private async requireUrl(raw: unknown): Promise<string> {
    if (typeof raw !== "string" || raw.trim().length === 0) throw badInput("url is required", "url");
    const text = raw.trim();
    if (text.length > MAX_URL_LENGTH) throw badInput(`url is at most ${MAX_URL_LENGTH} characters`, "url");
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw badInput("url is not a valid URL", "url");
    }
    const allowed = this.opts.allowPrivateNetworks ? ["https:", "http:"] : ["https:"];
    if (!allowed.includes(url.protocol)) throw badInput("url must be an https:// URL", "url");
    if (url.username || url.password) throw badInput("url must not carry credentials", "url");
    if (url.hash) throw badInput("url must not have a fragment", "url");
    if (!this.opts.allowPrivateNetworks) {
      let found: { addresses: string[]; private: string[] };
      try {
        found = await privateAddressesOf(url.hostname, this.resolve);
      } catch {
        throw badInput("url's host does not resolve", "url", { host: url.hostname });
      }
      if (found.addresses.length === 0) throw badInput("url's host does not resolve", "url", { host: url.hostname });
      if (found.private.length > 0) {
        throw badInput("url must reach the public internet, not a loopback, private, link-local or reserved address", "url", { host: url.hostname });
      }
    }
    return url.toString();
  }
}

const EVENT_TYPES = new Set<string>(Object.values(AssignmentEventType));

/** Distinct known event types, in the order given; empty means every type. */
function requireEventTypes(given: readonly unknown[]): AssignmentEventType[] {
  const types: AssignmentEventType[] = [];
  for (const t of given) {
    if (typeof t !== "string" || !EVENT_TYPES.has(t)) throw badInput(`eventTypes holds an unknown event type: ${String(t)}`, "eventTypes");
    if (!types.includes(t as AssignmentEventType)) types.push(t as AssignmentEventType);
  }
  return types;
}
