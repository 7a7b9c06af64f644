import { createHash } from "node:crypto";
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
import { type PersonalFeed, personalFeedOf } from "./personal-feeds";
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
 * Each result is serialized once and written to every member's socket at once; a socket with much
 * unwritten keeps its results in its own queue, so a slow reader never slows the class: past
 * `maxQueued` results waiting, a member of a sequenced class
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
/** Whether event sequence `a` comes after `b` (decimal strings of bigints, no leading zeros; `b` undefined: none yet). */
export function laterSequence(a: string, b: string | undefined): boolean {
  return b === undefined || a.length > b.length || (a.length === b.length && a > b);
}
function stateKeyOf(value: unknown): string | undefined {
  const id = (value as { chat?: { id?: unknown } } | null)?.chat?.id;
  return typeof id === "string" ? id : undefined;
}

const stable = (value: unknown): string =>
  JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b))) : v,
  );

/**
 * Documents as a digest of their printed text, once each (the socket layer hands the same document
 * object to every subscription with the same text): a class's key stays short (ten thousand
 * personal classes each kept a copy of the whole text in theirs).
 */
const printed = new WeakMap<DocumentNode, string>();

/** The operation's root fields with their arguments as written (null: not only fields). */
function rootFields(document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown> | null | undefined): Array<[string, Record<string, unknown>]> | null {
  const operation = getOperationAST(document, operationName);
  const fields = operation?.selectionSet.selections.filter((s) => s.kind === Kind.FIELD) ?? [];
  if (fields.length === 0 || fields.length !== operation?.selectionSet.selections.length) return null;
  return fields.map((f) => [f.name.value, Object.fromEntries((f.arguments ?? []).map((a) => [a.name.value, valueFromASTUntyped(a.value, variables ?? undefined)]))]);
}

/** The operation as a key: its name, a digest of its document, its variables. */
function operationKey(document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown> | null | undefined): string {
  let text = printed.get(document);
  if (text === undefined) printed.set(document, (text = createHash("sha256").update(print(document)).digest("base64url")));
  return [operationName ?? "", text, stable(variables ?? {})].join("\u0000");
}

/** The class an operation joins for `viewer`. */
export function classKey(document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown> | null | undefined, viewer: User): string {
  const shared = rootFields(document, operationName, variables)?.every(([field, args]) => SHARED_BY_CLASS[field]?.(args) ?? false) ?? false;
  return [visibilityClass(viewer), shared ? "" : viewer.id, operationKey(document, operationName, variables)].join("\u0000");
}

/** The personal feed of an operation of one root field that is one (see personal-feeds.ts). */
function personalOf(document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown> | null | undefined): PersonalFeed | undefined {
  const fields = rootFields(document, operationName, variables);
  return fields?.length === 1 ? personalFeedOf(fields[0][0], fields[0][1]) : undefined;
}

interface Entry {
  result: ExecutionResult;
  key: string | undefined;
}

/**
 * One socket's subscription. The class's results are written straight to the socket, serialized
 * once per class (a loop over an iterator would wait for each write before the next, one message per
 * event-loop turn: a busy manager's socket fell seconds behind). While the socket has more than
 * `HIGH_WATER` bytes unwritten the results wait in the member's queue (references to the class's
 * shared results), and go out as soon as it drains. The protocol server hears its end (or error)
 * through `whenEnded`; as an iterator (for any other reader) it yields nothing and ends when the
 * member ends, or throws its error.
 */
export class Member implements AsyncIterableIterator<ExecutionResult> {
  private queue: Entry[] = [];
  /** Only for state classes (chat changes), made when the first keyed result queues. */
  private byKey: Map<string, Entry> | null = null;
  private waiting: { resolve: (r: IteratorResult<ExecutionResult>) => void; reject: (err: unknown) => void } | null = null;
  private failure: unknown = null;
  /** Hears the member's end (ws-protocol.ts), set instead of a pending read. */
  private endListener: ((error: unknown) => void) | null = null;
  private done = false;
  /** A write is in flight past the high-water mark: the queue waits for it. */
  private paused = false;
  private readonly idJson: string;
  /**
   * The latest event this member was given, by sequence (to resume after, elsewhere). Not the
   * last to arrive: two commits' events can be published the other way round, and resuming after
   * the earlier one would read the later one from the table again.
   */
  lastSequence: string | undefined;
  cls: Room | null = null;
  /** Its user's lane, in a personal class. */
  lane: Lane | null = null;
  /** Stops its watch on its viewer's role (made when it first joins a shared class). */
  private stopWatching: (() => void) | null = null;

  constructor(
    readonly mux: Multiplexer,
    readonly args: ExecutionArgs,
    readonly hooks: SubscriberHooks,
    operationId: string,
  ) {
    this.idJson = JSON.stringify(operationId);
  }

  /** Hears its viewer's changes of role: a shared class was decided on the role (a personal one resolves each event for the viewer as they are then). */
  watchRole(): void {
    this.stopWatching ??= this.hooks.onRoleChange((viewer) => void this.mux.moved(this, viewer));
  }

  get ended(): boolean {
    return this.done;
  }

  /** Whether the member can take more without its rules (resume, coalesce, cut) applying. */
  get hasRoom(): boolean {
    return this.queue.length < this.hooks.maxQueued;
  }

  deliver(result: ExecutionResult, value: unknown): void {
    if (this.done) return;
    const sequence = sequenceOf(value);
    if (this.queue.length === 0 && !this.paused) {
      if (sequence !== undefined && laterSequence(sequence, this.lastSequence)) this.lastSequence = sequence;
      this.write(result);
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
        this.cut();
        return;
      }
    }
    if (sequence !== undefined && laterSequence(sequence, this.lastSequence)) this.lastSequence = sequence;
    const entry = { result, key };
    this.queue.push(entry);
    if (key !== undefined) (this.byKey ??= new Map()).set(key, entry);
  }

  /** One `next` message on the socket; past the high-water mark, the queue waits until it is written. */
  private write(result: ExecutionResult): void {
    const text = `{"id":${this.idJson},"type":"next","payload":${this.mux.serialized(result)}}`;
    if (this.hooks.buffered() + text.length < HIGH_WATER) {
      this.hooks.send(text);
      return;
    }
    this.paused = true;
    this.hooks.send(text, () => {
      this.paused = false;
      this.flush();
    });
  }

  private flush(): void {
    while (!this.done && !this.paused && this.queue.length > 0) {
      const entry = this.queue.shift()!;
      if (entry.key !== undefined && this.byKey?.get(entry.key) === entry) this.byKey.delete(entry.key);
      this.write(entry.result);
    }
    if (this.hasRoom) this.cls?.roomMade();
  }

  /** Ends the member and closes its socket (4508): the server cannot keep up with its feed. */
  cut(): void {
    if (this.done) return;
    this.finish();
    this.hooks.tooSlow();
  }

  fail(err: unknown): void {
    if (this.done) return;
    const ended = this.endListener;
    if (ended) {
      this.endListener = null;
      this.finish();
      ended(err);
      return;
    }
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

  /** The socket's protocol server hears the end here (an error, or undefined) instead of holding a read open. */
  whenEnded(listener: (error: unknown) => void): void {
    if (this.done) {
      listener(undefined);
      return;
    }
    if (this.failure !== null) {
      const err = this.failure;
      this.failure = null;
      this.finish();
      listener(err);
      return;
    }
    this.endListener = listener;
  }

  /** Ends the member: it leaves its class, and a waiting reader is told it is done. */
  finish(): void {
    if (this.done) return;
    this.done = true;
    this.stopWatching?.();
    const cls = this.cls;
    this.cls = null;
    cls?.leave(this);
    this.queue = [];
    this.byKey = null;
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.resolve({ value: undefined, done: true });
    const ended = this.endListener;
    this.endListener = null;
    ended?.(undefined);
  }
}

/** Bytes a socket may have unwritten before its subscriptions' results wait in their queues. */
const HIGH_WATER = 64 * 1024;

/** One feed and one execution per event for every member. */
class SharedClass {
  readonly members = new Set<Member>();
  stopped = false;
  private started = false;
  /** The pump waiting for a member with room (none had any). */
  private roomWaiter: (() => void) | null = null;
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
    member.watchRole();
    this.members.add(member);
    // The pump starts with its first member: nothing is resolved for nobody.
    if (!this.started) {
      this.started = true;
      this.run();
    }
  }

  leave(member: Member): void {
    this.members.delete(member);
    if (this.members.size === 0) this.stop();
    else this.roomMade();
  }

  /** A member has room again (or left): a pump waiting for one goes on. */
  roomMade(): void {
    const wake = this.roomWaiter;
    this.roomWaiter = null;
    wake?.();
  }

  /**
   * Whether some member can take another result. When none can (a private class's one reader is
   * behind), the pump waits: the feed then falls behind as a lone subscriber's did, and reads the
   * table when it must. One slow member among others never holds the class.
   */
  private someHaveRoom(): boolean {
    for (const member of this.members) if (member.hasRoom) return true;
    return this.members.size === 0;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.roomMade();
    this.onEmpty(this);
    void this.source.return?.();
  }

  /**
   * The pump: waits for no member, only while none has room (see `someHaveRoom`). Promise
   * callbacks rather than an async loop: an idle class then holds one pending read, not a
   * suspended frame (ten thousand personal classes on an instance).
   */
  private run(): void {
    if (this.stopped) return this.ended(null);
    if (!this.someHaveRoom()) {
      this.roomWaiter = () => this.run();
      return;
    }
    this.source
      .next()
      .then(async (next) => {
        if (next.done || this.stopped) return this.ended(null);
        const result = await execute({ ...this.args, rootValue: next.value });
        // Nothing of this event outlives it here: its rows go with its loaders.
        (this.args.contextValue as Context).forgetLoaders();
        for (const member of [...this.members]) member.deliver(result, next.value);
        this.run();
      })
      .catch((err: unknown) => this.ended(err));
  }

  /** The feed ended (or failed, `err`): so does every member. */
  private ended(err: unknown): void {
    this.stop();
    for (const member of [...this.members]) {
      if (err === null) member.finish();
      else member.fail(err);
    }
  }

  /** Every member's socket, for a fault of the class's feed. */
  each(act: (member: Member) => void): void {
    for (const member of [...this.members]) act(member);
  }
}

/** What a member asks of the class it is in. */
interface Room {
  leave(member: Member): void;
  /** The member has room again for results. */
  roomMade(): void;
  /** Whether `viewer` may still follow what the member's class was decided on. */
  allows(viewer: User): boolean;
}

/**
 * Every socket's subscription of one operation on a personal feed (`assignmentEvents(scope:
 * MINE)`, `notificationReceived`: what every agent holds open all shift). Each user with members
 * here has one lane: one listener on their own channel. An event on it is resolved for the viewer
 * as they are now (once per visibility class among the user's sockets, normally once) with a
 * context made for it and dropped after, and handed to their members, whose own queues and rules
 * (resume from the table, 4508) apply as in any class. Nothing is held per subscription but its
 * member, and nothing per user but the lane: no feed, no context, no pending read.
 */
class PersonalClass implements Room {
  private readonly lanes = new Map<string, Lane>();

  constructor(
    readonly key: string,
    readonly feed: PersonalFeed,
    /** The operation (without a context): executed for each event. */
    readonly args: ExecutionArgs,
    readonly mux: Multiplexer,
    private readonly onEmpty: (cls: PersonalClass) => void,
  ) {}

  get laneCount(): number {
    return this.lanes.size;
  }

  get memberCount(): number {
    let n = 0;
    for (const lane of this.lanes.values()) n += lane.members.length;
    return n;
  }

  join(member: Member, viewer: User): void {
    let lane = this.lanes.get(viewer.id);
    if (!lane) {
      lane = new Lane(this, viewer.id);
      this.lanes.set(viewer.id, lane);
      lane.stop = this.mux.services.pubsub.listen(this.feed.topic, this.feed.audience(viewer), lane);
    }
    if (!lane.members.includes(member)) lane.members.push(member);
    member.cls = this;
    member.lane = lane;
  }

  leave(member: Member): void {
    const lane = member.lane;
    member.lane = null;
    const at = lane ? lane.members.indexOf(member) : -1;
    if (!lane || at < 0) return;
    lane.members.splice(at, 1);
    if (lane.members.length > 0) return;
    lane.stop();
    if (this.lanes.get(lane.userId) === lane) this.lanes.delete(lane.userId);
    if (this.lanes.size === 0) this.onEmpty(this);
  }

  roomMade(): void {
    // Nothing waits for room: each member queues what it is handed.
  }

  allows(): boolean {
    return true; // a personal feed is every role's own; who sees what is decided per event
  }

  /** One event of a lane: resolved once per visibility class among its members, then handed to them. */
  async resolve(lane: Lane, message: unknown): Promise<void> {
    const groups = new Map<string, { viewer: User; members: Member[] }>();
    for (const member of lane.members) {
      const viewer = member.hooks.current();
      if (!this.feed.keep(viewer, message as never)) continue;
      const visibility = visibilityClass(viewer);
      const group = groups.get(visibility);
      if (group) group.members.push(member);
      else groups.set(visibility, { viewer, members: [member] });
    }
    for (const { viewer, members } of groups.values()) {
      // Throws only for a message that cannot be resolved at all (Lane.drain ends the lane's subscriptions).
      const result = await execute({ ...this.args, rootValue: message, contextValue: contextFor(this.mux.services, viewer) });
      // A member that left the lane meanwhile (resumed elsewhere, ended) is not handed it.
      for (const member of members) if (member.lane === lane) member.deliver(result, message);
    }
  }
}

/** One user's listener in a personal class: its events are resolved one after another, in the order they arrive. */
class Lane {
  /** Normally one or two (a console and a phone): an array, not a Set. */
  readonly members: Member[] = [];
  stop: () => void = () => {};
  /** Events that arrived while one was being resolved (null: none is). */
  private backlog: unknown[] | null = null;
  /** The event being resolved. */
  private current: unknown = undefined;

  constructor(
    readonly cls: PersonalClass,
    readonly userId: string,
  ) {}

  deliver(message: unknown): void {
    if (this.backlog) {
      this.backlog.push(message);
      if (this.backlog.length > this.maxBacklog()) this.behind();
      return;
    }
    this.backlog = [];
    void this.drain(message);
  }

  /** A shard of a Redis Cluster lost this channel's messages: the members' sockets are told to catch up. */
  interrupted(): void {
    for (const member of [...this.members]) member.hooks.interrupted();
  }

  private async drain(first: unknown): Promise<void> {
    let message: unknown = first;
    while (this.backlog) {
      this.current = message;
      try {
        await this.cls.resolve(this, message);
      } catch (err) {
        // A message that cannot be resolved at all (not one whose fields failed: those are in its
        // result): the lane's subscriptions end with the error rather than the lane stall.
        for (const member of [...this.members]) member.fail(err);
      }
      if (!this.backlog || this.backlog.length === 0) break;
      message = this.backlog.shift();
    }
    this.current = undefined;
    this.backlog = null;
  }

  private maxBacklog(): number {
    return this.members[0]?.hooks.maxQueued ?? 0;
  }

  /**
   * Events arrive faster than this instance resolves them (a bulk move of thousands of chats to
   * one agent, or the database slow): the backlog is dropped. A member of a sequenced feed (its
   * events) goes on alone from the event table after the last event it was given, or before the
   * earliest one dropped: never cut, nothing lost or repeated, as any member behind. Any other
   * (notifications) is closed with 4508 to reconnect and catch up, as a bounded feed's was.
   */
  private behind(): void {
    const dropped = [this.current, ...(this.backlog ?? [])].map(sequenceOf).filter((q): q is string => q !== undefined);
    this.backlog = null;
    const earliest = dropped.reduce<bigint | null>((min, q) => (min === null || BigInt(q) < min ? BigInt(q) : min), null);
    for (const member of [...this.members]) {
      const after = member.lastSequence ?? (earliest === null ? undefined : String(earliest - 1n));
      if (after !== undefined) void this.cls.mux.resume(member, after);
      else member.cut();
    }
  }
}

export class Multiplexer {
  private readonly classes = new Map<string, Promise<SharedClass | ExecutionResult>>();
  private readonly personal = new Map<string, PersonalClass>();
  private resumes = 0;
  /** Each class result as JSON, once for all its sockets. */
  private readonly json = new WeakMap<ExecutionResult, string>();

  /** `format`: a result as the wire carries it (errors with their stable codes, internal faults masked and logged). */
  constructor(
    readonly services: Services,
    private readonly format: (result: ExecutionResult) => unknown = (result) => result,
  ) {}

  serialized(result: ExecutionResult): string {
    let text = this.json.get(result);
    if (text === undefined) this.json.set(result, (text = JSON.stringify(this.format(result))));
    return text;
  }

  /** Classes and members now (metrics, tests). */
  async sizes(): Promise<{ classes: number; members: number }> {
    let members = 0;
    let classes = 0;
    for (const cls of this.personal.values()) {
      classes += cls.laneCount; // one execution per event each
      members += cls.memberCount;
    }
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
   * The socket's `subscribe` (ws-protocol.ts): a member of the operation's class, or the operation's errors.
   * Operations without a signed-in viewer or hooks (none over this socket layer) run alone.
   */
  async subscribe(args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
    const context = args.contextValue as Context | undefined;
    const viewer = context?.viewer;
    const hooks = context?.subscriber;
    if (!hooks || !viewer) return subscribeAlone(args);
    const member = new Member(this, args, hooks, context?.operationId ?? "");
    const refused = await this.join(member, viewer, undefined);
    if (refused) {
      member.finish();
      return refused;
    }
    // The operation's own context resolves nothing (its class does): let it go, rather than keep
    // it for the socket's life in these arguments, which the member holds until the operation ends.
    args.contextValue = undefined;
    return member;
  }

  /** Puts `member` into the class of its operation for `viewer` (a private one when resuming after a sequence); the errors when refused. */
  private async join(member: Member, viewer: User, resumeAfter: string | undefined): Promise<ExecutionResult | null> {
    const { document, operationName, variableValues } = member.args;
    const feed = resumeAfter === undefined ? personalOf(document, operationName, variableValues) : undefined;
    if (feed) {
      if (member.ended) return null;
      const key = operationKey(document, operationName, variableValues);
      let cls = this.personal.get(key);
      if (!cls) {
        cls = new PersonalClass(key, feed, { ...member.args, contextValue: undefined }, this, (done) => {
          if (this.personal.get(done.key) === done) this.personal.delete(done.key);
        });
        this.personal.set(key, cls);
      }
      cls.join(member, viewer);
      return null;
    }
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

  /** A member fell too far behind in a sequenced class: on alone, from the table after its last event (or after `after`, when it has had none). */
  async resume(member: Member, after = member.lastSequence): Promise<void> {
    await this.rejoin(member, member.hooks.current(), after);
  }

  /**
   * The member's viewer changed role: it leaves its class now; it ends with FORBIDDEN when the
   * subscription as decided no longer holds for them (a demoted manager's organization feeds),
   * else it subscribes again as the viewer is now.
   */
  async moved(member: Member, viewer: User): Promise<void> {
    const from = member.cls;
    if (!from || member.ended) return;
    // A personal class resolves each event for the viewer as they are then: nothing to move.
    if (from instanceof PersonalClass) return;
    if (!from.allows(viewer)) {
      member.fail(roleChanged());
      return;
    }
    await this.rejoin(member, viewer);
  }

  private async rejoin(member: Member, viewer: User, after = member.lastSequence): Promise<void> {
    const from = member.cls;
    if (!from || member.ended) return;
    from.leave(member);
    member.cls = null;
    const refused = await this.join(member, viewer, after);
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
