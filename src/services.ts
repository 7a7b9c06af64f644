import type { DataSource } from "typeorm";
import type { BatonPubSub } from "./events/pubsub";
import type { Logger } from "./logger";
import { type DeadlineJobs, HandoverEngine } from "./engine/handover-engine";
import { BiAccessService } from "./modules/bi/bi-access.service";
import { RelationService } from "./modules/reads/relation.service";
import { WebhookService } from "./modules/webhooks/webhook.service";
import { SecretBox } from "./kernel/secret-box";
import { WebhookDispatcherHost } from "./jobs/webhook-host";
import { DEFAULT_IDENTITY_CONFIG, DEFAULT_WEBHOOK_CONFIG, type IdentityConfig, type WebhookConfig } from "./config";
import { IdentityService } from "./modules/identity/identity.service";
import { IdempotencyService } from "./modules/idempotency/idempotency.service";
import { AssignmentEventService } from "./modules/assignments/assignment-event.service";
import { type Presence, LocalPresence } from "./modules/presence/presence.service";
import { BulkAssignService } from "./modules/assignments/bulk-assign.service";
import { AssignmentQueryService } from "./modules/assignments/assignment-query.service";
import { TokenService } from "./modules/auth/token.service";
import { ChatSessionService } from "./modules/chat-sessions/chat-session.service";
import { NotificationService } from "./modules/notifications/notification.service";
import { OrganizationService } from "./modules/organizations/organization.service";
import { SettingsService } from "./modules/settings/settings.service";
import { TrackingService } from "./modules/tracking/tracking.service";
import { TrackingExportService } from "./modules/tracking/tracking-export.service";
import { DiscussionService } from "./modules/discussions/discussion.service";
import { UserService } from "./modules/users/user.service";
import { SuggestionService } from "./modules/assignments/suggestion.service";
import { AuditService } from "./modules/audit/audit.service";
import type { SigningKey } from "./kernel/audit-chain";

export function createServices(
  dataSource: DataSource,
  pubsub: BatonPubSub,
  jwtSecret: string,
  logger: Logger,
  presence: Presence = new LocalPresence(),
  /** Where timeout jobs live: the scheduler, started afterwards with the engine (app.ts); none in tools and tests. */
  deadlines?: DeadlineJobs,
  /** Webhook endpoints: secrets sealed with this key, private networks allowed or not (WEBHOOK_* variables). */
  webhooks: WebhookConfig = DEFAULT_WEBHOOK_CONFIG,
  /** Organizations' identity providers (OIDC_* variables). */
  identityConfig: IdentityConfig = DEFAULT_IDENTITY_CONFIG,
  /** IDEMPOTENCY_TTL_HOURS. */
  idempotencyTtlHours = 24,
  /** The verifiable log's signing key (AUDIT_SIGNING_KEY_FILE); null: checkpoints are off. */
  auditKey: SigningKey | null = null,
) {
  const settings = new SettingsService(dataSource);
  // The change is committed but its events were not published: subscribers are told to catch up.
  const afterCommitFailed = (err: unknown) => {
    logger.error({ err }, "after-commit effect failed; sockets are told to catch up");
    pubsub.reportMissed();
  };
  const handovers = new HandoverEngine(dataSource, pubsub, {
    jobs: deadlines,
    online: (ids) => presence.onlineUserIds(ids),
    onEffectError: afterCommitFailed,
  });
  const box = new SecretBox(webhooks.secretKey);
  /** Sends webhook deliveries after commit, on a thread of its own; started and stopped with the app (app.ts). */
  const webhookDispatcher = new WebhookDispatcherHost(dataSource, pubsub, logger, webhooks, box);
  const identity = new IdentityService(dataSource, {
    allowInsecureIssuers: identityConfig.allowInsecureIssuers,
    keys: identityConfig.keys,
    onStaleKeys: (issuer, err) => logger.warn({ issuer, err: err.message }, "identity provider's keys could not be read again; the cached keys stay in use"),
  });
  return {
    bulk: new BulkAssignService(dataSource, pubsub, handovers, afterCommitFailed),
    pubsub,
    presence,
    events: new AssignmentEventService(dataSource),
    tokens: new TokenService(jwtSecret, dataSource, pubsub, identity),
    /** Organizations' OpenID Connect providers: their admins' settings, and their tokens' sign-in. */
    identity,
    /** Mutations sent with an Idempotency-Key: at most once per user and key. */
    idempotency: new IdempotencyService(dataSource, { ttlHours: idempotencyTtlHours, onEffectError: afterCommitFailed }),
    organizations: new OrganizationService(dataSource),
    settings,
    /** The handover engine: every request's life (open, answer, time out, cancel, hop) and discussions' end. */
    handovers,
    assignmentQueries: new AssignmentQueryService(dataSource),
    chats: new ChatSessionService(dataSource, pubsub, handovers, afterCommitFailed),
    users: new UserService(dataSource, handovers, presence, pubsub, afterCommitFailed),
    notifications: new NotificationService(dataSource),
    tracking: new TrackingService(dataSource),
    /** Who should take a chat (issue #24). */
    suggestions: new SuggestionService(dataSource, settings, presence),
    exports: new TrackingExportService(dataSource),
    discussions: new DiscussionService(dataSource, handovers, pubsub),
    bi: new BiAccessService(dataSource),
    /** Rows by key for the GraphQL loaders, one statement per relation and operation. */
    reads: new RelationService(dataSource),
    webhooks: new WebhookService(dataSource, { box, allowPrivateNetworks: webhooks.allowPrivateNetworks, delivery: webhookDispatcher }),
    webhookDispatcher,
    /** The verifiable log: checkpoints, public keys, verifying and exporting (issue #25). */
    audit: new AuditService(dataSource, auditKey),
  };
}

export type Services = ReturnType<typeof createServices>;
