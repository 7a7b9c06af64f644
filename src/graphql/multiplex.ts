import {
  createSourceEventStream,
  type DocumentNode,
  execute,
  type ExecutionArgs,
  type ExecutionResult,
  getOperationAST,
  GraphQLError,
  Kind,
  print,
  subscribe as subscribeAlone,
  valueFromASTUntyped,
} from "graphql";
import type { User } from "../modules/users/user.entity";
import { visibilityClass } from "../policy/access";
import type { Services } from "../services";
import { type Context, contextFor, type SubscriberHooks } from "./context";
import { roleChanged } from "./subscriptions";

/**
 * Execute once, send many (issue #27). Sockets whose subscriptions would resolve every event to
 * the same result share one "class": one feed from the pub/sub, one execution per event, and the
 * same result object handed to each socket. A class is keyed by the operation (printed document,
 * operation name, variables) and by what its viewers may see: their visibility class from the
 * policy (`visibilityClass`: a manager or an admin by role in the organization, a user by who they
 * are), plus who they are when the subscription's audience is personal (`assignmentEvents(scope:
 * MINE)`, `notificationReceived`). A socket never gets a result resolved for a viewer who sees
 * differently (test/unit/policy.test.ts, test/e2e/multiplex.test.ts).
 *
 * A class's events are executed with loaders primed from the message as committed, as a lone
 * subscription's were: names and owners are as fresh as the commit that produced them.
 *
 * Each socket's subscription (a member) reads the class's results from its own queue, so a slow
 * reader never slows the class: past `maxQueued` results waiting, a member of a sequenced class
 * (assignment events) moves to a private feed that reads the event table from its last event on
 * (gap-free, never cut, as a lone subscriber's did); a member of a state class (chat changes) keeps
 * only the latest result per chat; any other is closed with 4508. On a change of role a member
 * leaves its class at once (nothing more resolved for the role it lost) and subscribes again as
 * the viewer is now: refused (FORBIDDEN, the organization's feed of a demoted manager), or on in
 * its new class, resuming after its last event.
 */

/** Root fields whose events depend only on the viewer's visibility class and the arguments, not on who the viewer is. */
const SHARED_BY_CLASS: Record<string, (args: Record<string, unknown>) => boolean> = {
  assignmentEvents: (args) => args.scope === "ORGANIZATION",
  chatSessionUpdated: () => true,
  userAvailabilityChanged: () => true,
  discussionMessageAdded: () => true,
};

/** Who a source value is: its event's sequence (resumable), or the thing whose state it carries (coalescable). */
function sequenceOf(value: unknown): string | undefined {
  const sequence = (value as { event?: { sequence?: unknown } } | null)?.event?.sequence;
  return typeof sequence === "string" ? sequence : undefined;
}
function stateKeyOf(value: unknown): string | undefined {
  const id = (value as { chat?: { id?: unknown } } | null)?.chat?.id;
  return typeof id === "string" ? id : undefined;
}

const stable = (value: unknown): string =>
  JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b))) : v,
  );

/** Documents as text, once each (the socket layer hands the same document object to every subscription with the same text). */
const printed = new WeakMap<DocumentNode, string>();

/** The class an operation joins for `viewer`. */
export function classKey(document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown> | null | undefined, viewer: User): string {
  const operation = getOperationAST(document, operationName);
  const fields = operation?.selectionSet.selections.filter((s) => s.kind === Kind.FIELD) ?? [];
  const shared =
    fields.length > 0 &&
    fields.length === operation?.selectionSet.selections.length &&
    fields.every((f) => {
      const rule = SHARED_BY_CLASS[f.name.value];
      if (!rule) return false;
      const args = Object.fromEntries((f.arguments ?? []).map((a) => [a.name.value, valueFromASTUntyped(a.value, variables ?? undefined)]));
      return rule(args);
    });
  let text = printed.get(document);
  if (text === undefined) printed.set(document, (text = print(document)));
  return [visibilityClass(viewer), shared ? "" : viewer.id, operationName ?? "", text, stable(variables ?? {})].join("\u0000");
}

interface Entry {
  result: ExecutionResult;
  key: string | undefined;
}

/** One socket's subscription: the class's results, in order, from its own queue. */
class Member implements AsyncIterableIterator<ExecutionResult> {
  private queue: Entry[] = [];
  /** Only for state classes (chat changes), made when the first keyed result queues. */
  private byKey: Map<string, Entry> | null = null;
  private waiting: { resolve: (r: IteratorResult<ExecutionResult>) => void; reject: (err: unknown) => void } | null = null;
  private failure: unknown = null;
  private done = false;
  /** The last event this member was given (to resume after, elsewhere). */
  lastSequence: string | undefined;
  cls: SharedClass | null = null;
  private stopWatching: () => void = () => {};

  constructor(
    readonly mux: Multiplexer,
    readonly args: ExecutionArgs,
    readonly hooks: SubscriberHooks,
  ) {
    this.stopWatching = hooks.onRoleChange((viewer) => void mux.moved(this, viewer));
  }

  get ended(): boolean {
    return this.done;
  }

  deliver(result: ExecutionResult, value: unknown): void {
    if (this.done) return;
    const sequence = sequenceOf(value);
    if (this.waiting) {
      if (sequence !== undefined) this.lastSequence = sequence;
      const { resolve } = this.waiting;
      this.waiting = null;
      resolve({ value: result, done: false });
      return;
    }
    const key = stateKeyOf(value);
    if (this.queue.length >= this.hooks.maxQueued) {
      if (sequence !== undefined) {
        // Behind: on from the table after the last event queued (never cut, nothing lost).
        void this.mux.resume(this);
        return;
      }
      const older = key === undefined ? undefined : this.byKey?.get(key);
      if (older) {
        older.result = result; // the latest state of that chat, where its first unsent change was
        return;
      }
      if (key === undefined || this.queue.length >= this.hooks.maxQueued * 100) {
        this.finish();
        this.hooks.tooSlow();
        return;
      }
    }
    if (sequence !== undefined) this.lastSequence = sequence;
    const entry = { result, key };
    this.queue.push(entry);
    if (key !== undefined) (this.byKey ??= new Map()).set(key, entry);
  }

  fail(err: unknown): void {
    if (this.done) return;
    if (this.waiting) {
      const { reject } = this.waiting;
      this.waiting = null;
      this.finish();
      reject(err);
      return;
    }
    this.failure = err;
  }

  next(): Promise<IteratorResult<ExecutionResult>> {
    const entry = this.queue.shift();
    if (entry) {
      if (entry.key !== undefined && this.byKey?.get(entry.key) === entry) this.byKey.delete(entry.key);
      return Promise.resolve({ value: entry.result, done: false });
    }
    if (this.failure !== null) {
      const err = this.failure;
      this.failure = null;
      this.finish();
      return Promise.reject(asError(err));
    }
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  return(): Promise<IteratorResult<ExecutionResult>> {
    this.finish();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(err: unknown): Promise<IteratorResult<ExecutionResult>> {
    this.finish();
    return Promise.reject(asError(err));
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ExecutionResult> {
    return this;
  }

  /** Ends the member: it leaves its class, and a waiting reader is told it is done. */
  finish(): void {
    if (this.done) return;
    this.done = true;
    this.stopWatching();
    this.cls?.leave(this);
    this.cls = null;
    this.queue = [];
    this.byKey = null;
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.resolve({ value: undefined, done: true });
  }
}

/** One feed and one execution per event for every member. */
class SharedClass {
  readonly members = new Set<Member>();
  stopped = false;
  private started = false;
  /** Its entry in the multiplexer's map (removed when the class stops). */
  entry: Promise<SharedClass | ExecutionResult> | null = null;

  constructor(
    readonly key: string,
    private readonly source: AsyncIterator<unknown>,
    private readonly args: ExecutionArgs,
    private readonly onEmpty: (cls: SharedClass) => void,
  ) {}

  /** Whether `viewer` may still follow what this class was decided on (`revocable`'s rules). */
  allows(viewer: User): boolean {
    return ((this.args.contextValue as Context).revocations ?? []).every((allowed) => allowed(viewer));
  }

  join(member: Member): void {
    member.cls = this;
    this.members.add(member);
    // The pump starts with its first member: nothing is resolved for nobody.
    if (!this.started) {
      this.started = true;
      void this.run();
    }
  }

  leave(member: Member): void {
    this.members.delete(member);
    if (this.members.size === 0) this.stop();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.onEmpty(this);
    void this.source.return?.();
  }

  /** The pump: never waits for a member. */
  private async run(): Promise<void> {
    try {
      for (;;) {
        const next = await this.source.next();
        if (next.done || this.stopped) break;
        const result = await execute({ ...this.args, rootValue: next.value });
        // Nothing of this event outlives it here: its rows go with its loaders.
        (this.args.contextValue as Context).forgetLoaders();
        for (const member of [...this.members]) member.deliver(result, next.value);
      }
      this.stop();
      for (const member of [...this.members]) member.finish();
    } catch (err) {
      this.stop();
      for (const member of [...this.members]) member.fail(err);
    }
  }

  /** Every member's socket, for a fault of the class's feed. */
  each(act: (member: Member) => void): void {
    for (const member of [...this.members]) act(member);
  }
}

export class Multiplexer {
  private readonly classes = new Map<string, Promise<SharedClass | ExecutionResult>>();
  private resumes = 0;

  constructor(private readonly services: Services) {}

  /** Classes and members now (metrics, tests). */
  async sizes(): Promise<{ classes: number; members: number }> {
    let members = 0;
    let classes = 0;
    for (const pending of this.classes.values()) {
      const cls = await pending;
      if (cls instanceof SharedClass) {
        classes++;
        members += cls.members.size;
      }
    }
    return { classes, members };
  }

  /**
   * graphql-ws's `subscribe`: a member of the operation's class, or the operation's errors.
   * Operations without a signed-in viewer or hooks (none over this socket layer) run alone.
   */
  async subscribe(args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
    const context = args.contextValue as Context | undefined;
    const viewer = context?.viewer;
    const hooks = context?.subscriber;
    if (!hooks || !viewer) return subscribeAlone(args);
    const member = new Member(this, args, hooks);
    const refused = await this.join(member, viewer, undefined);
    if (refused) {
      member.finish();
      return refused;
    }
    return member;
  }

  /** Puts `member` into the class of its operation for `viewer` (a private one when resuming after a sequence); the errors when refused. */
  private async join(member: Member, viewer: User, resumeAfter: string | undefined): Promise<ExecutionResult | null> {
    const { document, operationName, variableValues } = member.args;
    let key = classKey(document, operationName, variableValues, viewer);
    if (resumeAfter !== undefined) key += `\u0000resume:${++this.resumes}`;
    for (;;) {
      let pending = this.classes.get(key);
      if (!pending) {
        const created = this.open(key, member.args, viewer, resumeAfter, member.hooks);
        pending = created;
        this.classes.set(key, created);
        void created.then((cls) => {
          if (cls instanceof SharedClass) cls.entry = created;
          else if (this.classes.get(key) === created) this.classes.delete(key);
        });
      }
      const cls = await pending;
      if (!(cls instanceof SharedClass)) return cls;
      if (member.ended) return null;
      if (cls.stopped) {
        // Its last member left while this one waited: a new one.
        if (this.classes.get(key) === pending) this.classes.delete(key);
        continue;
      }
      cls.join(member);
      return null;
    }
  }

  private async open(key: string, args: ExecutionArgs, viewer: User, resumeAfter: string | undefined, hooks: SubscriberHooks): Promise<SharedClass | ExecutionResult> {
    const context = contextFor(this.services, viewer, null, null);
    let cls: SharedClass | null = null;
    // The class's feed falling behind or failing concerns every member's socket.
    context.onFeedOverflow = () => cls?.each((m) => (m.finish(), m.hooks.tooSlow()));
    context.onFeedInterrupted = () => (cls ? cls.each((m) => m.hooks.interrupted()) : hooks.interrupted());
    if (resumeAfter !== undefined) context.resumeAfter = resumeAfter;
    const classArgs = { ...args, contextValue: context };
    const source = await createSourceEventStream(classArgs);
    if (!(Symbol.asyncIterator in source)) return source;
    cls = new SharedClass(key, source[Symbol.asyncIterator](), classArgs, (done) => {
      if (done.entry && this.classes.get(done.key) === done.entry) this.classes.delete(done.key);
    });
    return cls;
  }

  /** A member fell too far behind in a sequenced class: on alone, from the table after its last event. */
  async resume(member: Member): Promise<void> {
    await this.rejoin(member, member.hooks.current());
  }

  /**
   * The member's viewer changed role: it leaves its class now; it ends with FORBIDDEN when the
   * subscription as decided no longer holds for them (a demoted manager's organization feeds),
   * else it subscribes again as the viewer is now.
   */
  async moved(member: Member, viewer: User): Promise<void> {
    const from = member.cls;
    if (!from || member.ended) return;
    if (!from.allows(viewer)) {
      member.fail(roleChanged());
      return;
    }
    await this.rejoin(member, viewer);
  }

  private async rejoin(member: Member, viewer: User): Promise<void> {
    const from = member.cls;
    if (!from || member.ended) return;
    from.leave(member);
    member.cls = null;
    const refused = await this.join(member, viewer, member.lastSequence);
    if (refused) member.fail(errorOf(refused));
  }
}

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(typeof err === "string" ? err : "The subscription could not go on"));

/** The first error of a refused subscription, as the member's failure (its code kept). */
function errorOf(result: ExecutionResult): Error {
  const first = result.errors?.[0];
  if (!first) return new GraphQLError("The subscription could not go on");
  return first.originalError ?? first;
}
