import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_WEBHOOK_CONFIG, loadConfig } from "../../src/config";

describe("configuration", () => {
  it("defaults: rate limits on, metrics on loopback port 9464, introspection for signed-in users, no suggestions, same-origin only, the demo on loopback, caps set", () => {
    const c = loadConfig({});
    expect(c.rateLimits).toEqual({ perUserPerMinute: 600, perIpPerMinute: 3_000 });
    expect(c.metrics).toEqual({ enabled: true, port: 9464, host: "127.0.0.1", onApiPort: false });
    expect(c.introspection).toBe("authenticated");
    expect(c.suggestions).toBe(false);
    expect(c.memoryTrim).toBe(true);
    expect(c.host).toBe("127.0.0.1"); // no DATABASE_URL: the embedded demo
    expect(loadConfig({ DATABASE_URL: "postgres://x/y", JWT_SECRET: "0123456789abcdef" }).host).toBe("0.0.0.0");
    expect(c.corsOrigins).toEqual([]);
    expect(c.consoleApiOrigins).toEqual([]);
    expect(c.trustProxy).toBe(false);
    expect(c.webhooks).toEqual(DEFAULT_WEBHOOK_CONFIG);
    expect(c.shutdownGraceMs).toBe(10_000);
    expect(c.dbPoolIdleSeconds).toBe(300);
    expect(c.shutdownDelayMs).toBe(0);
    expect(c.limits).toEqual({ subscriptionsPerSocket: 50, socketsPerUser: 20, unauthenticatedSockets: 1_000, authTimeoutMs: 5_000, queuedEventsPerSubscription: 1_000, slowReaderMs: 15_000, keepAliveMs: 12_000 });
  });

  it("reads every variable it documents", () => {
    const c = loadConfig({
      RATE_LIMIT_PER_MINUTE: "0",
      RATE_LIMIT_PER_IP_PER_MINUTE: "100",
      METRICS_PORT: "9100",
      METRICS_ENABLED: "false",
      METRICS_HOST: "0.0.0.0",
      METRICS_ON_API_PORT: "true",
      GRAPHQL_INTROSPECTION: "off",
      GRAPHQL_SUGGESTIONS: "true",
      HOST: "0.0.0.0",
      CONSOLE_API_ORIGINS: "https://baton.example.com",
      CORS_ORIGINS: "https://console.example.com, http://localhost:5173",
      TRUST_PROXY: "uniquelocal",
      WS_MAX_SOCKETS_PER_USER: "3",
      WEBHOOK_SECRET_KEY: "ab".repeat(32),
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: "true",
      WEBHOOK_RETRY_SCHEDULE_SECONDS: "1, 2.5,60",
      WEBHOOK_DISABLE_AFTER_HOURS: "0.5",
      WEBHOOK_MAX_IN_FLIGHT: "8",
      WEBHOOK_TIMEOUT_SECONDS: "3",
      DB_POOL_IDLE_SECONDS: "0",
      MEMORY_TRIM: "false",
      WS_KEEP_ALIVE_MS: "30000",
    });
    expect(c.memoryTrim).toBe(false);
    expect(c.limits.keepAliveMs).toBe(30_000);
    expect(c.dbPoolIdleSeconds).toBe(0);
    expect(c.rateLimits).toEqual({ perUserPerMinute: 0, perIpPerMinute: 100 });
    expect(c.metrics).toEqual({ enabled: false, port: 9100, host: "0.0.0.0", onApiPort: true });
    expect(c.introspection).toBe("off");
    expect(c.suggestions).toBe(true);
    expect(c.host).toBe("0.0.0.0");
    expect(c.consoleApiOrigins).toEqual(["https://baton.example.com"]);
    expect(c.corsOrigins).toEqual(["https://console.example.com", "http://localhost:5173"]);
    expect(c.trustProxy).toBe("uniquelocal");
    expect(c.limits.socketsPerUser).toBe(3);
    expect(c.webhooks).toEqual({
      secretKey: Buffer.from("ab".repeat(32), "hex"),
      allowPrivateNetworks: true,
      retryScheduleSeconds: [1, 2.5, 60],
      disableAfterHours: 0.5,
      maxInFlight: 8,
      timeoutSeconds: 3,
    });
  });

  it("reports every bad variable at once", () => {
    let err: unknown;
    try {
      loadConfig({ CORS_ORIGINS: "console.example.com", CONSOLE_API_ORIGINS: "http://x.example/path", GRAPHQL_INTROSPECTION: "maybe", RATE_LIMIT_PER_MINUTE: "-1", WS_MAX_QUEUED_EVENTS: "5", WEBHOOK_SECRET_KEY: "too short",
        WEBHOOK_RETRY_SCHEDULE_SECONDS: "5,soon", WEBHOOK_DISABLE_AFTER_HOURS: "-1", WEBHOOK_MAX_IN_FLIGHT: "0", WEBHOOK_TIMEOUT_SECONDS: "0", DB_POOL_IDLE_SECONDS: "soon" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join("\n");
    for (const name of ["CORS_ORIGINS", "CONSOLE_API_ORIGINS", "GRAPHQL_INTROSPECTION", "RATE_LIMIT_PER_MINUTE", "WS_MAX_QUEUED_EVENTS", "WEBHOOK_SECRET_KEY", "WEBHOOK_RETRY_SCHEDULE_SECONDS", "WEBHOOK_DISABLE_AFTER_HOURS", "WEBHOOK_MAX_IN_FLIGHT", "WEBHOOK_TIMEOUT_SECONDS", "DB_POOL_IDLE_SECONDS"]) expect(problems).toContain(name);
  });
  it("REDIS_CLUSTER_NODES: host:port or redis(s):// seeds, the first URL's credentials for all; bad nodes and REDIS_URL beside it refused", () => {
    expect(loadConfig({}).redisCluster).toBeUndefined();
    expect(loadConfig({ REDIS_CLUSTER_NODES: "10.0.0.1:7000, 10.0.0.2:7001" }).redisCluster).toEqual({
      seeds: [
        { host: "10.0.0.1", port: 7000 },
        { host: "10.0.0.2", port: 7001 },
      ],
    });
    expect(loadConfig({ REDIS_CLUSTER_NODES: "rediss://baton:s%40cret@redis-1.internal:6380,redis-2.internal:6380" }).redisCluster).toEqual({
      seeds: [
        { host: "redis-1.internal", port: 6380 },
        { host: "redis-2.internal", port: 6380 },
      ],
      username: "baton",
      password: "s@cret",
      tls: true,
    });
    const problemsOf = (env: Record<string, string>): string => {
      try {
        loadConfig(env);
      } catch (e) {
        if (e instanceof ConfigError) return e.problems.join("\n");
        throw e;
      }
      return "";
    };
    for (const bad of ["redis-1", "redis-1:0", "redis-1:99999", "http://redis-1:6379", "redis://redis-1:6379/2", " , "]) expect(problemsOf({ REDIS_CLUSTER_NODES: bad })).toContain("REDIS_CLUSTER_NODES");
    // A password in a refused seed is not repeated in the error.
    expect(problemsOf({ REDIS_CLUSTER_NODES: "redis://u:hunter2@redis-1:6379/2" })).not.toContain("hunter2");
    expect(problemsOf({ REDIS_CLUSTER_NODES: "10.0.0.1:7000", REDIS_URL: "redis://10.0.0.9:6379" })).toMatch(/REDIS_URL.*REDIS_CLUSTER_NODES.*not both/);
  });
});
