/**
 * Kubernetes Events (`events.k8s.io/v1`) on the objects users own, for `kubectl describe` and `kubectl get events`.
 *
 * Recording never blocks and never fails the caller: writes go out in the background, one at a time, and a write
 * the API server refuses is logged and dropped. Repeats of the same event within 6 minutes become one Event whose
 * `series.count` grows (written at most every 30 s), and each object may get 25 new Events at once, then one per
 * 5 minutes (the bookkeeping is {@linkcode EventSeriesTable}). Controllers call {@linkcode EventRecorder.transition}
 * rather than {@linkcode EventRecorder.record} from a reconcile, so that an event marks a change of state and a
 * reconcile that changes nothing records nothing.
 *
 * @example Record an event when a policy's state changes
 * ```ts ignore
 * import { EventRecorder } from "../internal/kube/mod.ts";
 * const events = new EventRecorder(client, {
 *   controller: "lacquer.dev/gateway-controller", // reportingController
 *   instance: Deno.hostname(), // reportingInstance: which replica
 *   log,
 * });
 * // In a reconcile: an Event only when "accepted"/"invalid: ..." differs from what this object had last time.
 * events.transition(policy, { topic: "Accepted", state: valid ? "accepted" : `invalid: ${why}` }, valid
 *   ? { type: "Normal", reason: "Accepted", action: "Reconcile", note: "Policy is accepted" }
 *   : { type: "Warning", reason: "Invalid", action: "Reconcile", note: why });
 * // On shutdown: write the series still pending and stop the timer.
 * await events.stop();
 * ```
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { type DueSeries, type EventSeriesLimits, EventSeriesTable, truncateUtf8 } from "./event_series.ts";
import { KubeApiError, type KubeClient } from "./kube_client.ts";

/** The object an Event is about (its `regarding`), or a related one. A cached object can be passed as it is. */
export interface EventObject {
  /** `group/version` (or `v1`). */
  apiVersion?: string;
  /** The kind. */
  kind?: string;
  /** Name, namespace (none for cluster-scoped objects) and uid, which `kubectl describe` matches on. */
  metadata: { name: string; namespace?: string; uid?: string };
}

/** What happened. */
export interface EventSpec {
  /** `Normal`, or `Warning` for something the user should look at. */
  type: "Normal" | "Warning";
  /** Why, in UpperCamelCase (machine-readable, at most 128 characters). */
  reason: string;
  /** What the controller was doing, in UpperCamelCase (`Reconcile`, `Program`, ...). */
  action: string;
  /** For humans: what is wrong and what to change; cut to 1 kB. */
  note: string;
  /** A second object involved, if any. */
  related?: EventObject;
}

/** A change of state, for {@linkcode EventRecorder.transition}. */
export interface EventTransition {
  /** Which state of the object this is (`Programmed`, `Accepted`, ...); each topic is tracked apart. */
  topic: string;
  /** The state now, as a string; an event is recorded only when it differs from the last one. */
  state: string;
  /**
   * What the state was before, when this process has not seen the object yet (read from its status): after a
   * restart, an object still in that state gets no new Event. @default {unknown: the first state is a change}
   */
  assumed?: string;
}

/** Options for {@linkcode EventRecorder}. */
export interface EventRecorderOptions {
  /** `reportingController`: the controller's name, a qualified name such as `lacquer.dev/gateway-controller`. */
  controller: string;
  /** `reportingInstance`: which replica (its Pod name, or the hostname); at most 128 characters. */
  instance: string;
  /** Logger. */
  log: Logger;
  /** Aggregation and rate limits. */
  limits?: EventSeriesLimits;
  /** Returns the current time. @default {() => new Date()} */
  clock?: () => Date;
  /** Counts outcomes (`created`, `series`, `dropped`, `failed`) for metrics. */
  observe?: (outcome: string) => void;
}

/** The most bytes of an Event's note the API server accepts. */
const NOTE_LIMIT = 1024;
/** Writes waiting at once; more are dropped (the API server is down or slow, and they would be stale). */
const QUEUE_LIMIT = 256;
/** How many objects' states {@linkcode EventRecorder.transition} remembers. */
const STATES_LIMIT = 16384;

/**
 * Formats a time as a `metav1.MicroTime` (six fraction digits, which the API server requires).
 *
 * @example Usage
 * ```ts
 * import { microTime } from "./event_recorder.ts";
 * microTime(new Date("2026-01-02T03:04:05.678Z")); // "2026-01-02T03:04:05.678000Z"
 * ```
 *
 * @param date The time.
 * @returns `YYYY-MM-DDThh:mm:ss.ffffffZ`.
 */
export function microTime(date: Date): string {
  return date.toISOString().replace(/Z$/, "000Z");
}

function reference(object: EventObject) {
  const { name, namespace, uid } = object.metadata;
  return { apiVersion: object.apiVersion, kind: object.kind, name, namespace, uid };
}

function objectId(object: EventObject): string {
  const { name, namespace, uid } = object.metadata;
  return `${object.kind ?? ""}/${namespace ?? ""}/${name}/${uid ?? ""}`;
}

/** Records Events in the background; see the module documentation. */
export class EventRecorder {
  #client: KubeClient;
  #o: EventRecorderOptions;
  #table: EventSeriesTable;
  #states = new Map<string, string>();
  #queue: (() => Promise<void>)[] = [];
  #draining: Promise<void> | undefined;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #flushAtMs = Infinity;
  #sequence = 0;
  #stopped = false;
  #flushMs: number;

  /**
   * Creates a recorder; it writes nothing until an event is recorded.
   *
   * @param client The API client (a fenced one in a leader-elected operator: a former leader writes no Events).
   * @param options Who reports, and the limits.
   */
  constructor(client: KubeClient, options: EventRecorderOptions) {
    this.#client = client;
    this.#o = options;
    this.#table = new EventSeriesTable(options.limits);
    this.#flushMs = options.limits?.flushMs ?? 30_000;
  }

  #now(): Date {
    return (this.#o.clock ?? (() => new Date()))();
  }

  /**
   * Records an event now: a new Event, a repeat counted into an existing one, or nothing when rate-limited.
   *
   * @param regarding The object the event is about.
   * @param event What happened.
   */
  record(regarding: EventObject, event: EventSpec): void {
    if (this.#stopped) return;
    const note = truncateUtf8(event.note, NOTE_LIMIT);
    const key = JSON.stringify([
      objectId(regarding),
      event.type,
      event.reason,
      event.action,
      note,
      event.related ? objectId(event.related) : "",
    ]);
    const now = this.#now();
    const decision = this.#table.decide(key, objectId(regarding), now.getTime());
    if (decision.kind === "drop") {
      this.#o.observe?.("dropped");
      this.#o.log.debug("Event dropped by the rate limit", { reason: event.reason, object: objectId(regarding) });
      return;
    }
    if (decision.kind === "repeat") {
      this.#scheduleFlush(decision.dueInMs);
      return;
    }
    this.#enqueue(() => this.#create(key, regarding, { ...event, note }, now));
  }

  /**
   * Records `event` only when the object's `topic` changed state since the last call (or since `assumed`). A call
   * without an event just remembers the state (a state that deserves no event, such as "pending").
   *
   * @param regarding The object.
   * @param change The topic and its state now.
   * @param event What to record on a change.
   * @returns Whether the state changed.
   */
  transition(regarding: EventObject, change: EventTransition, event?: EventSpec): boolean {
    const id = `${objectId(regarding)}#${change.topic}`;
    const before = this.#states.get(id) ?? change.assumed;
    this.#states.delete(id);
    this.#states.set(id, change.state);
    for (const old of this.#states.keys()) {
      if (this.#states.size <= STATES_LIMIT) break;
      this.#states.delete(old);
    }
    if (before === change.state) return false;
    if (event) this.record(regarding, event);
    return true;
  }

  /**
   * Forgets the states of an object that is gone (its Events expire on their own).
   *
   * @param regarding The object.
   */
  forget(regarding: EventObject): void {
    const prefix = `${objectId(regarding)}#`;
    for (const id of [...this.#states.keys()]) if (id.startsWith(prefix)) this.#states.delete(id);
  }

  #enqueue(write: () => Promise<void>): void {
    if (this.#queue.length >= QUEUE_LIMIT) {
      this.#o.observe?.("dropped");
      return;
    }
    this.#queue.push(write);
    this.#draining ??= this.#drain();
  }

  async #drain(): Promise<void> {
    try {
      for (let write = this.#queue.shift(); write; write = this.#queue.shift()) await write();
    } finally {
      this.#draining = undefined;
    }
  }

  async #create(key: string, regarding: EventObject, event: EventSpec, at: Date): Promise<void> {
    const namespace = regarding.metadata.namespace || "default";
    // client-go's naming: the object's name and a unique hex time; the sequence keeps same-millisecond names apart.
    const stamp = (BigInt(at.getTime()) * 1_000_000n + BigInt(this.#sequence++ % 1_000_000)).toString(16);
    const name = `${regarding.metadata.name.slice(0, 200)}.${stamp}`;
    const body = {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: { name, namespace },
      eventTime: microTime(at),
      reportingController: this.#o.controller,
      reportingInstance: this.#o.instance.slice(0, 128),
      action: event.action,
      reason: event.reason,
      type: event.type,
      note: event.note,
      regarding: reference(regarding),
      ...(event.related ? { related: reference(event.related) } : {}),
    };
    try {
      await this.#client.request(`/apis/events.k8s.io/v1/namespaces/${namespace}/events`, { method: "POST", body });
      this.#table.created(key, `${namespace}/${name}`, this.#now().getTime());
      this.#o.observe?.("created");
      this.#scheduleNextFlush();
    } catch (err) {
      this.#table.forget(key);
      this.#o.observe?.("failed");
      this.#o.log.warn("Event not written", { err, reason: event.reason, object: objectId(regarding) });
    }
  }

  async #writeSeries(series: DueSeries): Promise<void> {
    const { key, ref } = series;
    const [namespace, name] = ref.split("/");
    try {
      await this.#client.request(`/apis/events.k8s.io/v1/namespaces/${namespace}/events/${name}`, {
        method: "PATCH",
        contentType: "application/merge-patch+json",
        body: { series: { count: series.count, lastObservedTime: microTime(new Date(series.lastMs)) } },
      });
      this.#o.observe?.("series");
    } catch (err) {
      // Gone (Events expire after an hour): the next repeat creates a new one.
      if (err instanceof KubeApiError && err.code === 404) this.#table.forget(key);
      this.#o.observe?.("failed");
      this.#o.log.warn("Event series not written", { err, event: ref });
    }
  }

  #flush(all: boolean): void {
    for (const series of this.#table.due(this.#now().getTime(), all)) this.#enqueue(() => this.#writeSeries(series));
  }

  /** Flushes in `delayMs`, or sooner when a flush is already due sooner. */
  #scheduleFlush(delayMs: number): void {
    if (this.#stopped) return;
    const at = performance.now() + delayMs;
    if (this.#flushTimer !== undefined && this.#flushAtMs <= at) return;
    clearTimeout(this.#flushTimer);
    this.#flushAtMs = at;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      this.#flushAtMs = Infinity;
      this.#flush(false);
      this.#scheduleNextFlush();
    }, delayMs);
  }

  #scheduleNextFlush(): void {
    const next = this.#table.nextDueInMs(this.#now().getTime());
    if (next !== undefined) this.#scheduleFlush(next);
  }

  /** Resolves once every write queued so far is done (tests). */
  async settled(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  /** Writes the pending series, waits for the writes, and records nothing more. */
  async stop(): Promise<void> {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#flush(true);
    this.#stopped = true;
    await this.settled();
  }
}
