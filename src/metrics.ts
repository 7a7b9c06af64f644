import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { AssignmentEventMessage } from "./events/pubsub";
import { AssignmentEventType } from "./modules/assignments/assignment-event.entity";

/** How an operation ended, for logs and metrics: `OK`, or its first error's code. */
export interface OperationOutcome {
  operation: string | null | undefined;
  code: string;
  seconds: number;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** Distinct operation names kept as label values; beyond, `other` (clients choose names). */
const MAX_OPERATION_NAMES = 200;

/**
 * Baton's Prometheus metrics, one registry per app (tests run several in one process). Label
 * values are bounded: operation names as the documents give them (at most 200 distinct, then
 * `other`), error codes, request kinds and statuses; never ids.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly names = new Set<string>();
  private readonly operations: Counter<"operation" | "code">;
  private readonly operationSeconds: Histogram<"operation">;
  private readonly transitions: Counter<"kind" | "to">;
  private readonly responseSeconds: Histogram<"to">;
  private readonly lateness: Histogram;

  /** The webhook dispatcher's observer (src/jobs/webhook-dispatcher.ts). */
  readonly webhooks: {
    attempt(outcome: string, seconds: number): void;
    settled(status: "DELIVERED" | "FAILED"): void;
    delivered(seconds: number): void;
  };

  constructor(sources: {
    pendingRequests: () => Promise<number>;
    websocketConnections: () => number;
    /** Subscription classes (one execution per event each) and the subscriptions in them (graphql/multiplex.ts). */
    subscriptionClasses?: () => Promise<{ classes: number; members: number }>;
    /** Pending deliveries per endpoint id. */
    webhookQueueDepth?: () => Promise<Map<string, number>>;
  }) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.operations = new Counter({
      name: "baton_graphql_operations_total",
      help: "GraphQL operations answered, by operation name and outcome code (OK when no error)",
      labelNames: ["operation", "code"],
      registers,
    });
    this.operationSeconds = new Histogram({
      name: "baton_graphql_operation_duration_seconds",
      help: "Time to answer a GraphQL operation (over HTTP; over a socket, to its first result)",
      labelNames: ["operation"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.transitions = new Counter({
      name: "baton_handover_transitions_total",
      help: "Written handovers by request kind and the status they reached (ASSIGNED: a bulk move)",
      labelNames: ["kind", "to"],
      registers,
    });
    this.responseSeconds = new Histogram({
      name: "baton_handover_response_seconds",
      help: "From a request being sent to its settling, by the status it reached",
      labelNames: ["to"],
      buckets: [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 86400],
      registers,
    });
    this.lateness = new Histogram({
      name: "baton_timeout_lateness_seconds",
      help: "From a request's deadline to its TIMED_OUT commit",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers,
    });
    new Gauge({
      name: "baton_pending_requests",
      help: "Requests pending now, as stored, in all organizations (read at scrape time)",
      registers,
      async collect() {
        // A scrape during a database outage keeps the last value rather than failing the scrape.
        this.set(await sources.pendingRequests().catch(() => Number.NaN));
      },
    });
    const attempts = new Counter({
      name: "baton_webhook_attempts_total",
      help: "Webhook attempts by outcome: delivered (2xx), http (another status), timeout, network, refused_address",
      labelNames: ["outcome"],
      registers,
    });
    const attemptSeconds = new Histogram({
      name: "baton_webhook_attempt_duration_seconds",
      help: "One webhook attempt, from connecting to the receiver's last byte",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    const settled = new Counter({
      name: "baton_webhook_deliveries_total",
      help: "Webhook deliveries that reached a final status (DELIVERED, FAILED)",
      labelNames: ["status"],
      registers,
    });
    const latency = new Histogram({
      name: "baton_webhook_delivery_latency_seconds",
      help: "From the event's commit to the receiver's 2xx, retries included",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 300, 3600, 86400],
      registers,
    });
    this.webhooks = {
      attempt: (outcome, seconds) => {
        attempts.inc({ outcome });
        attemptSeconds.observe(seconds);
      },
      settled: (status) => settled.inc({ status }),
      delivered: (seconds) => latency.observe(seconds),
    };
    if (sources.webhookQueueDepth) {
      const depth = sources.webhookQueueDepth;
      new Gauge({
        // The one metric labelled by an id: endpoints are few (at most 20 per organization) and an operator needs to know which is backed up.
        name: "baton_webhook_queue_depth",
        help: "Webhook deliveries pending, per endpoint id (read at scrape time)",
        labelNames: ["endpoint"],
        registers,
        async collect() {
          this.reset();
          const byEndpoint = await depth().catch(() => new Map<string, number>());
          for (const [endpoint, n] of byEndpoint) this.set({ endpoint }, n);
        },
      });
    }
    new Gauge({
      name: "baton_websocket_connections",
      help: "WebSocket connections open on this instance, authenticated or not",
      registers,
      collect() {
        this.set(sources.websocketConnections());
      },
    });
    const classes = sources.subscriptionClasses;
    if (classes) {
      let sizes: Promise<{ classes: number; members: number }> | null = null;
      // Both gauges from one reading per scrape.
      const read = () => (sizes ??= classes().finally(() => setTimeout(() => (sizes = null), 0)));
      new Gauge({
        name: "baton_subscription_classes",
        help: "Subscription classes on this instance: each resolves an event once for all its subscriptions",
        registers,
        async collect() {
          this.set((await read()).classes);
        },
      });
      new Gauge({
        name: "baton_subscriptions",
        help: "Live subscriptions on this instance (members of the classes above)",
        registers,
        async collect() {
          this.set((await read()).members);
        },
      });
    }
  }

  /** A bounded label for a client-chosen operation name. */
  operationLabel(name: string | null | undefined): string {
    if (!name) return "anonymous";
    if (!NAME.test(name)) return "invalid";
    if (this.names.has(name)) return name;
    if (this.names.size >= MAX_OPERATION_NAMES) return "other";
    this.names.add(name);
    return name;
  }

  operation(outcome: OperationOutcome): void {
    const operation = this.operationLabel(outcome.operation);
    this.operations.inc({ operation, code: outcome.code });
    this.operationSeconds.observe({ operation }, outcome.seconds);
  }

  /** Every committed event, once, on the instance that committed it. */
  event(message: AssignmentEventMessage): void {
    const { event, request } = message;
    if (event.type === AssignmentEventType.CREATED) return;
    this.transitions.inc({ kind: "ASSIGN", to: event.type });
    if (!request) return;
    const settledAt = new Date(request.respondedAt ?? event.occurredAt).getTime();
    this.responseSeconds.observe({ to: event.type }, Math.max(0, (settledAt - new Date(request.createdAt).getTime()) / 1000));
    if (event.type === AssignmentEventType.TIMED_OUT) this.lateness.observe(Math.max(0, (settledAt - new Date(request.expiresAt).getTime()) / 1000));
  }
}
