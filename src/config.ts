import { hostname } from "node:os";
import { parseSecretKey } from "./kernel/secret-box";
import type { OidcKeyOptions } from "./kernel/oidc-keys";

/** Environment, validated once at start; every problem is reported together. */
export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

export interface Config {
  port: number;
  host: string;
  /** Unset: an embedded Postgres under `dataDir` and a demo organization. */
  databaseUrl: string | undefined;
  jwtSecret: string | undefined;
  logLevel: LogLevel;
  dataDir: string;
  /** Largest accepted HTTP request body. */
  bodyLimitBytes: number;
  maxQueryDepth: number;
  dbPoolSize: number;
  /** DB_POOL_IDLE_SECONDS: an idle pooled connection is closed after this long (0: never). */
  dbPoolIdleSeconds: number;
  /** Events and presence across instances; unset: in-process. */
  redisUrl: string | undefined;
  /** REDIS_CLUSTER_NODES: a Redis Cluster instead of one Redis (sharded pub/sub, presence, rate limits). */
  redisCluster: ClusterAccess | undefined;
  /** With Redis: how long a socket counts as online without its instance renewing it. */
  presenceTtlMs: number;
  /** Agenda on MongoDB instead of Baton's Postgres. */
  agendaMongoUrl: string | undefined;
  agendaProcessEveryMs: number;
  timeoutSweepIntervalMs: number;
  /** How often bi.handover_daily is recomputed (0: never, e.g. when a cron runs `bi:refresh`). */
  biRollupRefreshSeconds: number;
  /** Name of this instance in job locks (`lastModifiedBy`) and presence. */
  instanceName: string;
  /** On SIGTERM: how long readiness fails while the instance still serves, so balancers stop sending first. */
  shutdownDelayMs: number;
  /** On SIGTERM: how long requests in flight may take to finish before they are cut off. */
  shutdownGraceMs: number;
  /**
   * Who may introspect (`__schema`, `__type`): signed-in users (the default), anyone, or nobody.
   * "Did you mean" suggestions are off unless GRAPHQL_SUGGESTIONS turns them on.
   */
  introspection: IntrospectionMode;
  /** "Did you mean ...?" in validation errors (they name fields a client did not ask about). */
  suggestions: boolean;
  /** One full garbage collection when the event loop turns idle after a busy spell (memory-trim.ts). */
  memoryTrim: boolean;
  limits: SocketLimits;
  /**
   * Prometheus metrics at /metrics: on a listener of their own (`port`, 0 for any free one, on
   * `host`, loopback by default), or on the API's port when `onApiPort`.
   */
  metrics: MetricsExposure;
  /** Operations per minute; 0 turns a limit off. */
  rateLimits: { perUserPerMinute: number; perIpPerMinute: number };
  /** Origins allowed to call from a browser (CORS); empty: same-origin only. */
  corsOrigins: string[];
  /** Other Baton APIs the console served here may be pointed at with `?api=`; empty: its own only. */
  consoleApiOrigins: string[];
  /** Express's `trust proxy`: which proxies' X-Forwarded-For to believe for the client's IP. */
  trustProxy: boolean | number | string;
  webhooks: WebhookConfig;
  identity: IdentityConfig;
  /** IDEMPOTENCY_TTL_HOURS: how long a mutation's Idempotency-Key is remembered. */
  idempotencyTtlHours: number;
  /** The verifiable log's checkpoints (issue #25). */
  audit: AuditConfig;
}

export interface AuditConfig {
  /** AUDIT_SIGNING_KEY_FILE: an Ed25519 private key (PEM, PKCS#8); unset with DATABASE_URL: checkpoints are off. */
  signingKeyFile: string | undefined;
  /** AUDIT_CHECKPOINT_MINUTES: how often each organization with new events gets a checkpoint (0: only on demand). */
  checkpointMinutes: number;
}

export interface IdentityConfig {
  /** OIDC_ALLOW_INSECURE_ISSUERS: http:// issuers and issuers on loopback or private addresses (tests only). */
  allowInsecureIssuers: boolean;
  /** Not from the environment (tests): how the issuers' keys are cached (kernel/oidc-keys.ts; defaults there). */
  keys?: Partial<OidcKeyOptions>;
}

export const DEFAULT_IDENTITY_CONFIG: IdentityConfig = { allowInsecureIssuers: false };

export interface WebhookConfig {
  /** WEBHOOK_SECRET_KEY: 32 bytes (64 hex digits or base64) that seal endpoint secrets at rest; null: stored as they are. */
  secretKey: Buffer | null;
  /** WEBHOOK_ALLOW_PRIVATE_NETWORKS: http:// and loopback/private/link-local targets allowed (tests, on-premises CRMs). */
  allowPrivateNetworks: boolean;
  /** WEBHOOK_RETRY_SCHEDULE_SECONDS: the wait before each retry (jittered +-20 %); after the last, FAILED. */
  retryScheduleSeconds: number[];
  /** WEBHOOK_DISABLE_AFTER_HOURS: an endpoint whose every attempt has failed this long is disabled (0: never). */
  disableAfterHours: number;
  /** WEBHOOK_MAX_IN_FLIGHT: requests at once per endpoint, across every instance. */
  maxInFlight: number;
  /** WEBHOOK_TIMEOUT_SECONDS: for one attempt, connect to last byte (the 10 s). */
  timeoutSeconds: number;
}

export const DEFAULT_WEBHOOK_CONFIG: WebhookConfig = {
  secretKey: null,
  allowPrivateNetworks: false,
  retryScheduleSeconds: [5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800],
  disableAfterHours: 72,
  maxInFlight: 4,
  timeoutSeconds: 10,
};

export type IntrospectionMode = "authenticated" | "public" | "off";
const INTROSPECTION_MODES: readonly IntrospectionMode[] = ["authenticated", "public", "off"];

export interface MetricsExposure {
  enabled: boolean;
  /** The metrics listener's port (0: any free one); null: none (only `onApiPort`, or tests). */
  port: number | null;
  host: string;
  onApiPort: boolean;
}

/** Caps that keep one client from taking the server's memory or sockets. */
export interface SocketLimits {
  /** Operations (subscriptions) open at once on one socket. */
  subscriptionsPerSocket: number;
  /** Authenticated sockets one user may hold open on one instance. */
  socketsPerUser: number;
  /** Sockets not yet authenticated, on one instance. */
  unauthenticatedSockets: number;
  /** How long a socket may stay unauthenticated before it is closed with 4403. */
  authTimeoutMs: number;
  /**
   * Live messages one subscription may hold for a reader that is behind: past it an assignment
   * event feed reads the event table instead, any other feed closes its socket with 4508.
   */
  queuedEventsPerSubscription: number;
  /** How long a socket's send buffer may stay undrained (its reader not reading) before it is closed with 4508. */
  slowReaderMs: number;
  /** How often each socket is pinged; one that has not answered by the next ping is cut. */
  keepAliveMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

const LOG_LEVELS: readonly LogLevel[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];

  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  };

  const bool = (name: string, fallback: boolean): boolean => {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    if (/^(true|1|yes|on)$/i.test(raw)) return true;
    if (/^(false|0|no|off)$/i.test(raw)) return false;
    problems.push(`${name} must be true or false (got "${raw}")`);
    return fallback;
  };

  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push(`DATABASE_URL must be a postgres:// URL`);
  }

  const jwtSecret = env.JWT_SECRET || undefined;
  if (databaseUrl !== undefined && jwtSecret === undefined) {
    problems.push("JWT_SECRET is required when DATABASE_URL is set");
  }
  if (jwtSecret !== undefined && jwtSecret.length < 16) {
    problems.push("JWT_SECRET must be at least 16 characters");
  }

  const logLevel = (env.LOG_LEVEL || "info") as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")} (got "${env.LOG_LEVEL}")`);
  }

  const agendaMongoUrl = env.AGENDA_MONGO_URL || undefined;
  if (agendaMongoUrl !== undefined && !/^mongodb(\+srv)?:\/\//.test(agendaMongoUrl)) {
    problems.push("AGENDA_MONGO_URL must be a mongodb:// URL");
  }

  const redisUrl = env.REDIS_URL || undefined;
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) problems.push("REDIS_URL must be a redis:// URL");
  const redisCluster = parseClusterNodes(env.REDIS_CLUSTER_NODES, problems);
  if (redisCluster && redisUrl) problems.push("set REDIS_URL (one Redis) or REDIS_CLUSTER_NODES (a Redis Cluster), not both");

  // true/false: the values this variable took before it had three modes.
  const introspectionWords: Record<string, IntrospectionMode> = { true: "public", false: "off" };
  const introspectionRaw = (env.GRAPHQL_INTROSPECTION || "authenticated").toLowerCase();
  const introspection = (introspectionWords[introspectionRaw] ?? introspectionRaw);
  if (!INTROSPECTION_MODES.includes(introspection)) {
    problems.push(`GRAPHQL_INTROSPECTION must be one of ${INTROSPECTION_MODES.join(", ")} (got "${env.GRAPHQL_INTROSPECTION}")`);
  }

  const config: Config = {
    port: int("PORT", 4000, 0, 65535),
    // The embedded demo hands out admin tokens to whoever reaches it: this machine only, unless HOST says.
    host: env.HOST || (databaseUrl ? "0.0.0.0" : "127.0.0.1"),
    databaseUrl,
    jwtSecret,
    logLevel,
    dataDir: env.BATON_DATA_DIR || ".data",
    bodyLimitBytes: int("BODY_LIMIT_BYTES", 1_000_000, 1_000, 50_000_000),
    maxQueryDepth: int("MAX_QUERY_DEPTH", 10, 3, 50),
    dbPoolSize: int("DB_POOL_SIZE", 20, 1, 500),
    dbPoolIdleSeconds: int("DB_POOL_IDLE_SECONDS", 300, 0, 86_400),
    redisUrl,
    redisCluster,
    presenceTtlMs: int("PRESENCE_TTL_MS", 30_000, 1_000, 3_600_000),
    agendaMongoUrl,
    agendaProcessEveryMs: int("AGENDA_PROCESS_EVERY_MS", 250, 50, 60_000),
    timeoutSweepIntervalMs: int("TIMEOUT_SWEEP_INTERVAL_MS", 2_000, 100, 600_000),
    biRollupRefreshSeconds: int("BI_ROLLUP_REFRESH_SECONDS", 300, 0, 86_400),
    instanceName: env.INSTANCE_NAME || `baton-${hostname()}-${process.pid}`,
    shutdownDelayMs: int("SHUTDOWN_DELAY_MS", 0, 0, 600_000),
    shutdownGraceMs: int("SHUTDOWN_GRACE_MS", 10_000, 0, 600_000),
    introspection: INTROSPECTION_MODES.includes(introspection) ? introspection : "authenticated",
    suggestions: bool("GRAPHQL_SUGGESTIONS", false),
    memoryTrim: bool("MEMORY_TRIM", true),
    metrics: {
      enabled: bool("METRICS_ENABLED", true),
      port: int("METRICS_PORT", 9464, 0, 65535),
      host: env.METRICS_HOST || "127.0.0.1",
      onApiPort: bool("METRICS_ON_API_PORT", false),
    },
    rateLimits: {
      perUserPerMinute: int("RATE_LIMIT_PER_MINUTE", 600, 0, 1_000_000),
      perIpPerMinute: int("RATE_LIMIT_PER_IP_PER_MINUTE", 3_000, 0, 10_000_000),
    },
    corsOrigins: origins("CORS_ORIGINS", env.CORS_ORIGINS, problems),
    consoleApiOrigins: origins("CONSOLE_API_ORIGINS", env.CONSOLE_API_ORIGINS, problems),
    trustProxy: trustProxy(env.TRUST_PROXY),
    webhooks: {
      secretKey: secretKey(env.WEBHOOK_SECRET_KEY, problems),
      allowPrivateNetworks: bool("WEBHOOK_ALLOW_PRIVATE_NETWORKS", false),
      retryScheduleSeconds: schedule("WEBHOOK_RETRY_SCHEDULE_SECONDS", env.WEBHOOK_RETRY_SCHEDULE_SECONDS, DEFAULT_WEBHOOK_CONFIG.retryScheduleSeconds, problems),
      disableAfterHours: decimal("WEBHOOK_DISABLE_AFTER_HOURS", env.WEBHOOK_DISABLE_AFTER_HOURS, DEFAULT_WEBHOOK_CONFIG.disableAfterHours, 0, 8760, problems),
      maxInFlight: int("WEBHOOK_MAX_IN_FLIGHT", DEFAULT_WEBHOOK_CONFIG.maxInFlight, 1, 64),
      timeoutSeconds: decimal("WEBHOOK_TIMEOUT_SECONDS", env.WEBHOOK_TIMEOUT_SECONDS, DEFAULT_WEBHOOK_CONFIG.timeoutSeconds, 0.1, 60, problems),
    },
    idempotencyTtlHours: int("IDEMPOTENCY_TTL_HOURS", 24, 1, 720),
    audit: {
      signingKeyFile: env.AUDIT_SIGNING_KEY_FILE || undefined,
      checkpointMinutes: int("AUDIT_CHECKPOINT_MINUTES", 60, 0, 10_080),
    },
    identity: {
      allowInsecureIssuers: bool("OIDC_ALLOW_INSECURE_ISSUERS", false),
    },
    limits: {
      subscriptionsPerSocket: int("WS_MAX_SUBSCRIPTIONS_PER_SOCKET", 50, 1, 10_000),
      socketsPerUser: int("WS_MAX_SOCKETS_PER_USER", 20, 1, 10_000),
      unauthenticatedSockets: int("WS_MAX_UNAUTHENTICATED_SOCKETS", 1_000, 1, 1_000_000),
      authTimeoutMs: int("WS_AUTH_TIMEOUT_MS", 5_000, 100, 600_000),
      queuedEventsPerSubscription: int("WS_MAX_QUEUED_EVENTS", 1_000, 10, 1_000_000),
      slowReaderMs: int("WS_SLOW_READER_MS", 15_000, 100, 3_600_000),
      keepAliveMs: int("WS_KEEP_ALIVE_MS", 12_000, 100, 3_600_000),
    },
  };

  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** Seconds between retries, comma-separated positive numbers (at most 30 of them, each at most a week). */
function schedule(name: string, raw: string | undefined, fallback: number[], problems: string[]): number[] {
  if (raw === undefined || raw.trim() === "") return fallback;
  const values = raw.split(",").map((v) => Number(v.trim()));
  if (values.length > 30 || values.some((v) => !Number.isFinite(v) || v <= 0 || v > 7 * 86400)) {
    problems.push(`${name} must be comma-separated seconds, each above 0 and at most 604800, at most 30 of them (got "${raw}")`);
    return fallback;
  }
  return values;
}

function decimal(name: string, raw: string | undefined, fallback: number, min: number, max: number, problems: string[]): number {
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    problems.push(`${name} must be a number between ${min} and ${max} (got "${raw}")`);
    return fallback;
  }
  return value;
}

function secretKey(raw: string | undefined, problems: string[]): Buffer | null {
  if (raw === undefined || raw.trim() === "") return null;
  const key = parseSecretKey(raw);
  if (!key) problems.push("WEBHOOK_SECRET_KEY must be 32 bytes as 64 hex digits or base64 (e.g. `openssl rand -base64 32`)");
  return key;
}

function origins(name: string, raw: string | undefined, problems: string[]): string[] {
  const origins = (raw ?? "").split(",").map((o) => o.trim()).filter(Boolean);
  for (const origin of origins) {
    let ok = false;
    try {
      const u = new URL(origin);
      ok = (u.protocol === "http:" || u.protocol === "https:") && u.origin === origin;
    } catch {
      ok = false;
    }
    if (!ok) problems.push(`${name} must list origins like https://baton.example.com (got "${origin}")`);
  }
  return origins;
}

function trustProxy(raw: string | undefined): boolean | number | string {
  if (!raw || /^(false|0|no|off)$/i.test(raw)) return false;
  if (/^(true|yes|on)$/i.test(raw)) return true;
  if (/^\d+$/.test(raw)) return Number(raw);
  return raw; // addresses, CIDRs or express's names (loopback, uniquelocal)
}

export const DEFAULT_SOCKET_LIMITS: SocketLimits = loadConfig({}).limits;

/** A Redis Cluster to use (REDIS_CLUSTER_NODES): seed nodes and the credentials they share. */
export interface ClusterAccess {
  seeds: Array<{ host: string; port: number }>;
  password?: string;
  username?: string;
  tls?: boolean;
}

/**
 * REDIS_CLUSTER_NODES: seed nodes as `host:port` or `redis://[user:password@]host:port`
 * (`rediss://` for TLS), comma-separated; the first URL's credentials and scheme apply to every
 * node (a cluster shares them). The rest of the cluster is learnt from the seeds.
 */
export function parseClusterNodes(raw: string | undefined, problems: string[]): ClusterAccess | undefined {
  if (!raw?.trim()) return undefined;
  const access: ClusterAccess = { seeds: [] };
  for (const item of raw.split(",").map((s) => s.trim()).filter(Boolean)) {
    let url: URL;
    try {
      url = new URL(/^[a-z]+:\/\//i.test(item) ? item : `redis://${item}`);
    } catch {
      problems.push(`REDIS_CLUSTER_NODES: "${item}" is not host:port`);
      continue;
    }
    const port = Number(url.port);
    if (!/^rediss?:$/.test(url.protocol) || !url.hostname || !(port > 0 && port < 65536) || (url.pathname && url.pathname !== "/")) {
      problems.push(`REDIS_CLUSTER_NODES: "${item.replace(/\/\/[^@]*@/, "//***@")}" is not host:port or redis://host:port`);
      continue;
    }
    if (access.seeds.length === 0) {
      if (url.password) access.password = decodeURIComponent(url.password);
      if (url.username) access.username = decodeURIComponent(url.username);
      if (url.protocol === "rediss:") access.tls = true;
    }
    access.seeds.push({ host: url.hostname.replace(/^\[|\]$/g, ""), port });
  }
  if (access.seeds.length === 0 && !problems.some((p) => p.startsWith("REDIS_CLUSTER_NODES"))) problems.push("REDIS_CLUSTER_NODES names no node");
  return access.seeds.length > 0 ? access : undefined;
}
