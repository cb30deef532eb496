/**
 * The bookkeeping behind Kubernetes Events, without I/O: which recorded event becomes a new Event object, which one
 * only counts as a repeat of an Event already written (its `series`), and which one a rate limit drops. Time comes
 * in as milliseconds, so every decision is a plain function of what was recorded before.
 *
 * It follows client-go's `tools/events`: repeats of one event within a window (6 minutes) are one Event whose
 * `series.count` grows and whose `series` is written at most once per flush interval, not once per repeat; and, like
 * client-go's spam filter, each object has a token bucket that only new Event objects spend.
 *
 * @module
 */

/** Limits of an {@linkcode EventSeriesTable}. */
export interface EventSeriesLimits {
  /** A repeat within this long of the last one joins its series; later ones start a new Event. @default {360000} */
  windowMs?: number;
  /** New Events an object may get at once. @default {25} */
  burst?: number;
  /** Milliseconds for an object to earn one more new Event. @default {300000} */
  refillMs?: number;
  /** Series written at most this often (a repeat waits for the next flush). @default {30000} */
  flushMs?: number;
  /** Events and objects remembered, oldest forgotten first. @default {4096} */
  maxEntries?: number;
}

/** What to do with a recorded event. */
export type EventDecision =
  /** Write a new Event object. */
  | { kind: "create" }
  /**
   * Counted into the series of the Event already written; {@linkcode EventSeriesTable.due} gives it once `dueInMs`
   * have passed (at once when its last write is older than the flush interval).
   */
  | { kind: "repeat"; count: number; dueInMs: number }
  /** Dropped: the object used up its new Events for now. */
  | { kind: "drop" };

/** A series whose count is ahead of what was last written. */
export interface DueSeries {
  /** The event's key. */
  key: string;
  /** The written Event object, as its writer named it ({@linkcode EventSeriesTable.created}). */
  ref: string;
  /** How often the event happened. */
  count: number;
  /** When it last happened (ms). */
  lastMs: number;
}

interface Entry {
  /** The written Event object; undefined while the create is in flight. */
  ref?: string;
  count: number;
  lastMs: number;
  writtenCount: number;
  writtenMs: number;
}

const DEFAULTS: Required<EventSeriesLimits> = {
  windowMs: 6 * 60_000,
  burst: 25,
  refillMs: 5 * 60_000,
  flushMs: 30_000,
  maxEntries: 4096,
};

/** Keeps a Map under `max` entries by forgetting the oldest ones (Maps iterate in insertion order). */
function cap<K, V>(map: Map<K, V>, max: number): void {
  for (const key of map.keys()) {
    if (map.size <= max) return;
    map.delete(key);
  }
}

/**
 * Decides, event by event, between a new Event, a repeat and a drop.
 *
 * @example Usage
 * ```ts
 * import { EventSeriesTable } from "./event_series.ts";
 * const table = new EventSeriesTable({ flushMs: 1000 });
 * table.decide("gw|Warning|Rejected|vcl", "gw", 0); // { kind: "create" }
 * table.created("gw|Warning|Rejected|vcl", "default/gw.18c2", 0);
 * table.decide("gw|Warning|Rejected|vcl", "gw", 10); // { kind: "repeat", count: 2, dueInMs: 990 }
 * table.due(1000); // [{ key: "gw|Warning|Rejected|vcl", ref: "default/gw.18c2", count: 2, lastMs: 10 }]
 * ```
 */
export class EventSeriesTable {
  #limits: Required<EventSeriesLimits>;
  #entries = new Map<string, Entry>();
  #buckets = new Map<string, { tokens: number; atMs: number }>();

  /** Creates an empty table. */
  constructor(limits: EventSeriesLimits = {}) {
    this.#limits = { ...DEFAULTS, ...limits };
  }

  /**
   * Records one occurrence of an event.
   *
   * @param key What makes two events the same: type, reason, action, note, object, controller.
   * @param object The object the event is about (its rate limit).
   * @param nowMs The time, in milliseconds.
   * @returns Whether to write a new Event, count a repeat, or drop it.
   */
  decide(key: string, object: string, nowMs: number): EventDecision {
    const entry = this.#entries.get(key);
    if (entry && nowMs - entry.lastMs <= this.#limits.windowMs) {
      entry.count++;
      entry.lastMs = nowMs;
      return {
        kind: "repeat",
        count: entry.count,
        dueInMs: Math.max(0, entry.writtenMs + this.#limits.flushMs - nowMs),
      };
    }
    if (!this.#take(object, nowMs)) return { kind: "drop" };
    this.#entries.delete(key);
    this.#entries.set(key, { count: 1, lastMs: nowMs, writtenCount: 1, writtenMs: nowMs });
    cap(this.#entries, this.#limits.maxEntries);
    return { kind: "create" };
  }

  #take(object: string, nowMs: number): boolean {
    const { burst, refillMs, maxEntries } = this.#limits;
    const old = this.#buckets.get(object);
    const earned = old ? Math.floor((nowMs - old.atMs) / refillMs) : burst;
    const tokens = Math.min(burst, (old?.tokens ?? 0) + earned);
    // Time is consumed only in whole tokens, so a steady trickle still earns them.
    const atMs = old && tokens < burst ? old.atMs + earned * refillMs : nowMs;
    this.#buckets.delete(object);
    if (tokens < 1) {
      this.#buckets.set(object, { tokens, atMs });
      return false;
    }
    this.#buckets.set(object, { tokens: tokens - 1, atMs });
    cap(this.#buckets, maxEntries);
    return true;
  }

  /**
   * Records that the Event of a `create` decision was written.
   *
   * @param key The event's key.
   * @param ref How the writer finds the Event object again (its namespace and name).
   * @param nowMs The time of the write.
   */
  created(key: string, ref: string, nowMs: number): void {
    const entry = this.#entries.get(key);
    if (entry) Object.assign(entry, { ref, writtenMs: nowMs });
  }

  /**
   * Forgets an event (its Event could not be written, or is gone), so that its next occurrence creates one.
   *
   * @param key The event's key.
   */
  forget(key: string): void {
    this.#entries.delete(key);
  }

  /**
   * The series to write now: written Events repeated since their last write, at most once per flush interval. They
   * count as written from now on (a failed write is not retried: the next repeat writes the count again). Events
   * whose window has passed are forgotten once nothing of theirs is left to write.
   *
   * @param nowMs The time.
   * @param all Every series ahead of its last write, whatever the interval (on shutdown).
   * @returns The series to write.
   */
  due(nowMs: number, all = false): DueSeries[] {
    const out: DueSeries[] = [];
    for (const [key, entry] of this.#entries) {
      const ahead = entry.count > entry.writtenCount;
      if (ahead && entry.ref && (all || nowMs - entry.writtenMs >= this.#limits.flushMs)) {
        out.push({ key, ref: entry.ref, count: entry.count, lastMs: entry.lastMs });
        Object.assign(entry, { writtenCount: entry.count, writtenMs: nowMs });
      } else if (!ahead && nowMs - entry.lastMs > this.#limits.windowMs) {
        this.#entries.delete(key);
      }
    }
    return out;
  }

  /**
   * When the next series is due ({@linkcode EventSeriesTable.due}), in milliseconds from now.
   *
   * @param nowMs The time.
   * @returns The delay, or undefined when no written Event is ahead of its last write.
   */
  nextDueInMs(nowMs: number): number | undefined {
    let next: number | undefined;
    for (const entry of this.#entries.values()) {
      if (entry.count <= entry.writtenCount || !entry.ref) continue;
      const wait = Math.max(0, entry.writtenMs + this.#limits.flushMs - nowMs);
      next = next === undefined ? wait : Math.min(next, wait);
    }
    return next;
  }
}

/**
 * Cuts a text to at most `maxBytes` bytes of UTF-8, on a character boundary, marking the cut with "…".
 *
 * @example Usage
 * ```ts
 * import { truncateUtf8 } from "./event_series.ts";
 * truncateUtf8("abcdef", 4); // "a…" ("…" takes 3 bytes)
 * ```
 *
 * @param text The text.
 * @param maxBytes The most bytes the result may take.
 * @returns The text, whole when it fits.
 */
export function truncateUtf8(text: string, maxBytes: number): string {
  const encoder = new TextEncoder();
  if (encoder.encode(text).length <= maxBytes) return text;
  const budget = maxBytes - 3;
  let used = 0;
  let out = "";
  for (const char of text) {
    const size = encoder.encode(char).length;
    if (used + size > budget) break;
    used += size;
    out += char;
  }
  return out + "…";
}
