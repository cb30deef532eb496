/**
 * The pure half of `deno task bench:e2e`'s stage breakdown: where one change's time went, from the structured logs
 * of the operator and of each gateway pod's chaperone, against the wall-clock times the bench took itself (the
 * write, the API server's answer, each pod's first correct response). Every process runs on the one machine, so
 * their clocks are the same; log times have millisecond resolution.
 *
 * @module
 */

/** One structured log line: its time (ms since the epoch), message and fields. */
export interface LogEvent {
  /** ms since the epoch. */
  time: number;
  /** The message. */
  msg: string;
  /** Every field. */
  fields: Record<string, unknown>;
}

/**
 * Parses JSON log lines, bare (a process's stderr) or as the kubelet stores a container's (`<time> <stream> <tag>
 * <line>`); other lines are left out.
 *
 * @example Usage
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { parseLogLines } from "./propagation_stages.ts";
 * const [event] = parseLogLines('2026-12-01T01:00:00.5Z stderr F {"time":"2026-12-01T01:00:00.004Z","msg":"hi"}');
 * equal(event.msg, "hi");
 * ```
 *
 * @param text The log.
 * @returns Its JSON lines.
 */
export function parseLogLines(text: string): LogEvent[] {
  const out: LogEvent[] = [];
  for (const line of text.split("\n")) {
    const start = line.indexOf("{");
    if (start < 0) continue;
    let fields: Record<string, unknown>;
    try {
      fields = JSON.parse(line.slice(start));
    } catch {
      continue;
    }
    const time = typeof fields.time === "string" ? Date.parse(fields.time) : NaN;
    if (!Number.isNaN(time) && typeof fields.msg === "string") out.push({ time, msg: fields.msg, fields });
  }
  return out;
}

/** What the bench took of one change itself (wall-clock ms since the epoch). */
export interface ChangeTimes {
  /** The write to the API server started. */
  started: number;
  /** The API server answered it. */
  acknowledged: number;
  /** Each gateway pod's first correct response, in the order of the pods' logs. */
  served: readonly number[];
  /** When the request of each of those responses was sent (the same order). */
  asked?: readonly number[];
  /** Whether the operator takes part (an HTTPRoute change; not an EndpointSlice change). */
  throughOperator: boolean;
}

/**
 * Where one change's time went, in ms, at the pod that served it last (the one the change's total waits for). Each
 * stage starts where the one before ends; a stage the logs cannot place is absent.
 */
export type Stages = {
  /** The write until the API server's answer. */
  api: number;
  /**
   * The answer until the operator sent the new generation to the pods (`Routing pushed`), or, when it did not push
   * it, until it had written the Gateway's ConfigMap (the changed shard before it).
   */
  operator?: number;
  /** Of that, until the reconcile that wrote it started (watch event, queue, an earlier reconcile running). */
  queued?: number;
  /** Of that, the reconcile's work before translating (references, Secret access). */
  prepare?: number;
  /** Of that, its translation. */
  translate?: number;
  /**
   * Of that, the round trip of the Gateway's ConfigMap write (the shards' writes come before it); absent when the
   * generation was pushed (the write then runs beside the push, off the path).
   */
  apply?: number;
  /** That push or write (or the answer, for an EndpointSlice) until the chaperone took it (push or watch event). */
  watch?: number;
  /** The chaperone's wait for its sync (coalescing, or a sync still running). */
  wait?: number;
  /** Reading the ConfigMap and the shards it names (fetch and parse). */
  read?: number;
  /** Of that, waiting for and fetching the shards the change rewrote that neither came with a push nor were held. */
  fetch?: number;
  /** Of that read, parsing the shards the change rewrote (pushed, held or fetched). */
  parse?: number;
  /** Building ghost.json (what changed). */
  build?: number;
  /** Writing ghost.json or its delta. */
  write?: number;
  /** ghost's reload, the HTTP round trip included. */
  ghost?: number;
  /** Of that, ghost's own time (read, apply, swap). */
  ghostOwn?: number;
  /** The rest of the sync. */
  other?: number;
  /** The sync's end until the first correct response the bench saw. */
  response?: number;
  /**
   * Of that, the round trip of the request that got it, from its sending (an upstream's answer included): the rest of
   * `response` is the bench's polling.
   */
  answer?: number;
};

/**
 * The stages of {@linkcode Stages}, in the order of a change's path; the others are parts of these
 * ({@linkcode PART_NAMES}: `queued`, `prepare`, `translate` and `apply` of `operator`, `fetch` and `parse` of `read`, `ghostOwn` of
 * `ghost`, `answer` of `response`).
 */
export const STAGE_NAMES = [
  "api",
  "operator",
  "watch",
  "wait",
  "read",
  "build",
  "write",
  "ghost",
  "other",
  "response",
] as const;

/** The parts of stages {@linkcode Stages} names (each within one stage of {@linkcode STAGE_NAMES}). */
export const PART_NAMES = ["queued", "prepare", "translate", "apply", "fetch", "parse", "ghostOwn", "answer"] as const;

const num = (v: unknown) => typeof v === "number" ? v : 0;

/**
 * Places one change's stages: the operator's push of the generation (`Routing pushed` of the Gateway, the first after
 * the answer, placed at its first request: the line's time less its `durationMs`) or else its write of the Gateway's
 * ConfigMap (`Child object applied` of `<namespace>/<configMap>`, the first after the answer), the reconcile that did
 * it (`Gateway reconciled`, the first after), and the slowest pod's last `Sync finished` that reloaded ghost before its
 * first correct response (or its last one, when none did).
 *
 * @example Usage
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { changeStages } from "./propagation_stages.ts";
 * const sync = { time: 130, msg: "Sync finished", fields: { totalMs: 20, waitMs: 5, readMs: 3, buildMs: 1, writeMs: 1, ghostMs: 4 } };
 * const names = { configMap: "ns/gw-lacquer", gateway: "ns/gw" };
 * const stages = changeStages({ started: 0, acknowledged: 10, served: [135], throughOperator: false }, [], [[sync]], names);
 * equal(stages.watch, 100);
 * ```
 *
 * @param change What the bench took.
 * @param operator The operator's log events.
 * @param pods Each pod's chaperone log events (the order of `change.served`).
 * @param names `<namespace>/<name>` of the Gateway's ConfigMap and of the Gateway.
 * @returns The stages.
 */
export function changeStages(
  change: ChangeTimes,
  operator: readonly LogEvent[],
  pods: readonly (readonly LogEvent[])[],
  names: { configMap: string; gateway: string },
): Stages {
  const stages: Stages = { api: change.acknowledged - change.started };
  const last = change.served.indexOf(Math.max(...change.served));
  const served = change.served[last];
  let before = change.acknowledged;
  if (change.throughOperator) {
    const after = (e: LogEvent) => e.time >= Math.floor(change.acknowledged) && e.time <= served;
    const pushed = operator.find((e) =>
      e.msg === "Routing pushed" && e.fields.gateway === names.gateway && num(e.fields.taken) > 0 && after(e)
    );
    const written = pushed
      ? undefined
      : operator.find((e) => e.msg === "Child object applied" && e.fields.object === names.configMap && after(e));
    const sent = pushed ? pushed.time - num(pushed.fields.durationMs) : written?.time;
    if (sent === undefined) return stages;
    stages.operator = Math.max(0, sent - change.acknowledged);
    if (written) stages.apply = num(written.fields.requestMs);
    const reconcile = operator.find((e) =>
      e.msg === "Gateway reconciled" && e.fields.gateway === names.gateway && e.time >= sent
    );
    if (reconcile) {
      stages.queued = Math.max(0, reconcile.time - num(reconcile.fields.durationMs) - change.acknowledged);
      stages.prepare = num(reconcile.fields.prepareMs);
      stages.translate = num(reconcile.fields.translateMs);
    }
    before = sent;
  }
  // The last sync that reloaded ghost: one after it (the watch event of a pushed generation) found nothing to do.
  const syncs = pods[last]?.filter((e) =>
    e.msg === "Sync finished" && e.time <= Math.ceil(served) && e.time - num(e.fields.totalMs) >= Math.floor(before) - 1
  );
  const sync = syncs?.findLast((e) => num(e.fields.ghostMs) > 0) ?? syncs?.at(-1);
  if (sync === undefined) return stages;
  const f = sync.fields;
  const total = num(f.totalMs);
  stages.watch = Math.max(0, sync.time - total - before);
  stages.wait = num(f.waitMs);
  stages.read = num(f.readMs);
  stages.build = num(f.buildMs);
  stages.write = num(f.writeMs);
  stages.ghost = num(f.ghostMs);
  if (typeof f.ghostOwnMs === "number") stages.ghostOwn = f.ghostOwnMs;
  if (typeof f.fetchMs === "number") stages.fetch = f.fetchMs;
  if (typeof f.parseMs === "number") stages.parse = f.parseMs;
  stages.other = Math.max(0, total - stages.wait - stages.read - stages.build - stages.write - stages.ghost);
  stages.response = Math.max(0, served - sync.time);
  // a request sent before the sync's end may have been routed after it: its whole round trip is not the response's
  const asked = change.asked?.[last];
  if (asked !== undefined) stages.answer = Math.min(stages.response, Math.max(0, served - asked));
  return stages;
}
