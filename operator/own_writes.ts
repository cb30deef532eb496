/**
 * Recognises the watch events that only echo the operator's own writes, so that they reconcile nothing: a write of a
 * Gateway's children or statuses must not queue the Gateway again behind the next real change.
 *
 * Each write of an object goes through {@linkcode OwnWrites.track}, which remembers the `resourceVersion` the API
 * server answered (a delete: that the object is gone). {@linkcode OwnWrites.observe} then drops a change whose new
 * object has that resourceVersion and differs from the old one only where that write writes: the status for a
 * status write, anything but the status (and the deletion mark) for a child's apply. The second check keeps the
 * level-triggered promise when a relist merges someone else's change with ours into one event (the Gateway's spec
 * changed just before our status write; a load balancer's address just before our Service apply): such an event
 * still reconciles. A change of an object whose write has not answered yet waits for the answer (the watch may be
 * faster than the response), then is dropped or passed on.
 *
 * @module
 */
import type { KubeObject } from "../internal/kube/mod.ts";
import { keyOf } from "./snapshot_index.ts";

/**
 * What a write changes: an object's `status` (status writers), the object but its status (a child's server-side
 * apply or create), or its existence (a delete).
 */
export type WritePart = "status" | "object" | "delete";

/** One write whose echo has not been seen. */
interface Written {
  part: WritePart;
  /** The resourceVersion it answered; empty for a delete. */
  resourceVersion: string;
}

/** A change held until the writes of its object answer. */
interface Held {
  old: KubeObject | undefined;
  current: KubeObject | undefined;
  react: () => void;
}

/** Writes remembered per object: a few, as an echo normally comes within milliseconds and the oldest go first. */
const REMEMBERED_PER_OBJECT = 4;

/** Whether two field values are the same: the same object (parsed objects keep an unchanged spec), or equal JSON. */
function equalField(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Tells whether a change touches only what a write of `part` writes.
 *
 * @example Usage
 * ```ts
 * import { onlyWritten } from "./own_writes.ts";
 * const before = { metadata: { name: "gw", resourceVersion: "1" }, spec: { a: 1 }, status: {} };
 * onlyWritten("status", before, { ...before, metadata: { name: "gw", resourceVersion: "2" }, status: { x: 1 } }); // true
 * onlyWritten("status", before, { ...before, spec: { a: 2 } }); // false
 * ```
 *
 * @param part What the write changes.
 * @param old The object before the change (undefined: it was created).
 * @param current The object after it.
 * @returns True when every other field is the same.
 */
export function onlyWritten(part: WritePart, old: KubeObject | undefined, current: KubeObject): boolean {
  if (old === undefined) return part === "object";
  if (part === "object") {
    return equalField(old.status, current.status) &&
      equalField(old.metadata.deletionTimestamp, current.metadata.deletionTimestamp);
  }
  const keys = new Set([...Object.keys(old), ...Object.keys(current)]);
  for (const key of keys) {
    if (key === "status" || key === "metadata") continue;
    if (!equalField((old as Record<string, unknown>)[key], (current as Record<string, unknown>)[key])) return false;
  }
  const { resourceVersion: _a, managedFields: _b, ...before } = old.metadata;
  const { resourceVersion: _c, managedFields: _d, ...after } = current.metadata;
  return equalField(before, after);
}

/**
 * Remembers the operator's writes and filters their echoes out of the watch events. One per operator process, shared
 * by the writers and the controller that reads the events.
 */
export class OwnWrites {
  #written = new Map<string, Written[]>();
  #inFlight = new Map<string, { writes: number; held: Held[] }>();

  /**
   * Runs a write of one object and remembers what it wrote.
   *
   * @param kind The object's kind, as the caches name it (`ConfigMap`, `Gateway`, ...).
   * @param key Its `namespace/name` (the name for a cluster-scoped object).
   * @param part What the write changes.
   * @param write The request; for `status` and `object` it answers the object written.
   * @returns What the write returns.
   */
  async track<T>(kind: string, key: string, part: WritePart, write: () => Promise<T>): Promise<T> {
    const id = `${kind}/${key}`;
    let flight = this.#inFlight.get(id);
    if (!flight) this.#inFlight.set(id, flight = { writes: 0, held: [] });
    flight.writes++;
    try {
      const answer = await write();
      const resourceVersion = (answer as KubeObject | undefined)?.metadata?.resourceVersion ?? "";
      if (part === "delete" || resourceVersion !== "") this.#remember(id, { part, resourceVersion });
      return answer;
    } finally {
      if (--flight.writes === 0) {
        this.#inFlight.delete(id);
        for (const { old, current, react } of flight.held) this.observe(kind, old, current, react);
      }
    }
  }

  #remember(id: string, written: Written): void {
    // a write after a delete: the object is there again, and a later delete is someone else's until ours
    const list = (this.#written.get(id) ?? []).filter((w) => w.part !== "delete");
    list.push(written);
    if (list.length > REMEMBERED_PER_OBJECT) list.shift();
    this.#written.set(id, list);
  }

  /**
   * Calls `react` for a change unless it only echoes an own write. A change of an object with a write under way is
   * decided once the write has answered.
   *
   * @param kind The object's kind.
   * @param old The object before (undefined when added).
   * @param current The object after (undefined when deleted).
   * @param react What to do about a change that is not only ours.
   */
  observe(kind: string, old: KubeObject | undefined, current: KubeObject | undefined, react: () => void): void {
    const object = current ?? old;
    if (object === undefined) return;
    const id = `${kind}/${keyOf(object.metadata.namespace, object.metadata.name)}`;
    const flight = this.#inFlight.get(id);
    if (flight) {
      flight.held.push({ old, current, react });
      return;
    }
    const list = this.#written.get(id);
    if (current === undefined) {
      // gone: nothing of it is remembered any longer; our delete's echo, or a delete after ours was answered
      this.#written.delete(id);
      if (!list?.some((w) => w.part === "delete")) react();
      return;
    }
    // it exists: a delete of ours, if any, is past
    const kept = (list ?? []).filter((w) => w.part !== "delete");
    const rv = current.metadata.resourceVersion;
    const at = kept.findIndex((w) => w.resourceVersion === rv);
    const echo = at >= 0 && onlyWritten(kept[at].part, old, current);
    if (echo) kept.splice(at, 1);
    if (kept.length > 0) this.#written.set(id, kept);
    else this.#written.delete(id);
    if (!echo) react();
  }
}
