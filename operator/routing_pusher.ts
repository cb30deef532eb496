/**
 * Pushes each new routing generation of a Gateway to its live pods (`POST /routing` on the chaperone's admin port,
 * with the Gateway's admin token; the body is `internal/routing_push.ts`) before its ConfigMaps are written, so that
 * a route change reaches traffic without waiting for the API server's write and the pods' watch events. A pod answers
 * once it has applied the generation; the writes wait for the answers, {@linkcode PUSH_WAIT_MS} at most, so that the
 * API server's work does not compete with the pods' for the CPU. A push is sent once and never retried: a pod that
 * misses it reads the same generation from the ConfigMaps a moment later, which stay the record. Each generation carries a sequence number, the same as on the
 * Gateway's ConfigMap ({@linkcode RoutingSequence}), so a pod keeps the newer of what it was pushed and what it watches.
 *
 * @module
 */
import type { Logger } from "../internal/log.ts";
import { ROUTING_PUSH_PATH } from "../internal/names.ts";
import type { ConfigMapContent, RoutingPush } from "../internal/routing_push.ts";
import type { ChildObject } from "./children.ts";
import type { GatewayPods, PodAnswer } from "./gateway_pods.ts";

/**
 * The most shards a pushed generation may have rewritten. A route change rewrites one or a few; a generation that
 * rewrites many (a Gateway's first, or a change of the number of shards) is not pushed: its many writes, not the watch,
 * are what it waits for, and the pods read it from the ConfigMaps as they are written.
 */
export const MAX_PUSHED_SHARDS = 16;

/**
 * How long a pod that did not answer a push (no connection, or no answer in time: an operator outside the pods'
 * network, a pod still starting) is not pushed to, so that a burst of changes does not pile up requests that wait
 * out their deadline.
 */
export const UNREACHABLE_PAUSE_MS = 10_000;

/**
 * The longest the ConfigMap writes of a pushed generation wait for the pods' answers. A pod answers once it has
 * applied the generation (a few to tens of ms): until then the API server's writes, its watch events and the status
 * writes that follow would compete with the pods' reloads for the CPU, while the pods do not need them. A pod slower
 * than this (a reload of VCL, a pod far away) does not hold the record back longer.
 */
export const PUSH_WAIT_MS = 250;

/** What one pod did with a push: took it, had a newer one, failed to take it, or was not asked (unreachable). */
export type PushResult = "taken" | "stale" | "failed" | "skipped";

/** The routing children of one generation, as the children writer hands them over. */
export interface RoutingGeneration {
  /** Its sequence number. */
  sequence: number;
  /** The Gateway's ConfigMap. */
  configMap: ChildObject;
  /** The shard ConfigMaps it rewrote. */
  shards: readonly ChildObject[];
}

/**
 * Gives routing generations increasing numbers: the wall clock in milliseconds, or one more than the last number or
 * than the one on the Gateway's ConfigMap when the clock is not past them, so that a new operator (a restart, a new
 * leader whose clock is behind) continues above its predecessor's numbers.
 */
export class RoutingSequence {
  #last = 0;
  #now: () => number;

  /**
   * Creates the counter.
   *
   * @param now The clock (ms since the epoch). @default {Date.now}
   */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /**
   * Returns the next number.
   *
   * @example Usage
   * ```ts
   * import { RoutingSequence } from "./routing_pusher.ts";
   * const sequence = new RoutingSequence(() => 5);
   * [sequence.next(), sequence.next()]; // [5, 6]
   * ```
   *
   * @param above A number to go past too (the one on the Gateway's ConfigMap). @default {0}
   * @returns A number above every one returned before, and above `above`.
   */
  next(above = 0): number {
    this.#last = Math.max(this.#now(), this.#last + 1, above + 1);
    return this.#last;
  }
}

function contentOf(child: ChildObject): ConfigMapContent {
  const { data, binaryData } = child as { data?: Record<string, string>; binaryData?: Record<string, string> };
  return { ...(data && { data }), ...(binaryData && { binaryData }) };
}

/**
 * Builds the push body of a generation.
 *
 * @example Usage
 * ```ts
 * import { routingPushOf } from "./routing_pusher.ts";
 * const configMap = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "gw-lacquer", namespace: "ns", labels: {} }, data: {} };
 * routingPushOf({ sequence: 7, configMap, shards: [] }); // { sequence: 7, configMap: { data: {} }, shards: {} }
 * ```
 *
 * @param generation The generation.
 * @returns The body.
 */
export function routingPushOf(generation: RoutingGeneration): RoutingPush {
  return {
    sequence: generation.sequence,
    configMap: contentOf(generation.configMap),
    shards: Object.fromEntries(generation.shards.map((s) => [s.metadata.name, contentOf(s)])),
  };
}

/** A pod's answer: `taken` or `stale` from a 202 that says so (and whether the pod applied it), undefined otherwise. */
function answerOf(answer: PodAnswer): { result: "taken" | "stale"; applied: boolean } | undefined {
  if (answer.status !== 202) return undefined;
  try {
    const { result, applied } = JSON.parse(answer.text) as { result?: unknown; applied?: unknown };
    return result === "taken" || result === "stale" ? { result, applied: applied === true } : undefined;
  } catch {
    return undefined;
  }
}

/** Options of {@linkcode RoutingPusher}. */
export interface RoutingPusherOptions {
  /** Finds the pods and posts to them. */
  pods: Pick<GatewayPods, "live" | "token" | "post">;
  /** Whether pushes may go out now (with leader election: while this replica holds the lease). */
  allowed?: () => boolean;
  /** Counts each pod's push by result. */
  observe?: (result: PushResult) => void;
  /** Deadline of each pod request. @default {2000} */
  timeoutMs?: number;
  /** The longest {@linkcode RoutingPusher.push} waits for the answers. @default {PUSH_WAIT_MS} */
  waitMs?: number;
  /** Logger. */
  log: Logger;
  /** The clock (ms), for the pause of unreachable pods. @default {performance.now} */
  now?: () => number;
}

/** Pushes routing generations to gateway pods. */
export class RoutingPusher {
  #o: RoutingPusherOptions;
  /** Pods that did not answer, by key: not pushed to until then. */
  #paused = new Map<string, number>();

  /** Creates the pusher. */
  constructor(options: RoutingPusherOptions) {
    this.#o = options;
  }

  /**
   * Sends a generation to the Gateway's live pods, in parallel, unless it rewrote more than
   * {@linkcode MAX_PUSHED_SHARDS} shards; a pod that did not answer the last time is left out for
   * {@linkcode UNREACHABLE_PAUSE_MS}.
   *
   * @param gateway The Gateway's `namespace/name`.
   * @param generation The generation.
   * @returns Resolves when every pod has answered or failed, or after {@linkcode RoutingPusherOptions.waitMs},
   * whichever comes first (the requests go on): what the generation's ConfigMap writes wait for.
   */
  push(gateway: string, generation: RoutingGeneration): Promise<void> {
    // never rejects: the writes go on whatever the pods did
    const answered = this.#push(gateway, generation).catch((err) =>
      this.#o.log.warn("Routing push failed", { gateway, err })
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waited = new Promise<void>((resolve) => timer = setTimeout(resolve, this.#o.waitMs ?? PUSH_WAIT_MS));
    return Promise.race([answered, waited]).finally(() => clearTimeout(timer));
  }

  async #push(gateway: string, generation: RoutingGeneration): Promise<void> {
    if (this.#o.allowed?.() === false || generation.shards.length > MAX_PUSHED_SHARDS) return;
    const pods = this.#o.pods.live([gateway]);
    if (pods.length === 0) return;
    let token: string;
    try {
      token = await this.#o.pods.token(gateway);
    } catch (err) {
      this.#o.log.debug("Routing not pushed", { gateway, err });
      return;
    }
    const body = JSON.stringify(routingPushOf(generation));
    const now = this.#o.now ?? (() => performance.now());
    const started = performance.now();
    let applied = 0;
    const results = await Promise.all(pods.map(async (pod): Promise<PushResult> => {
      const paused = this.#paused.get(pod.pod);
      if (paused !== undefined && now() < paused) {
        this.#o.observe?.("skipped");
        return "skipped";
      }
      this.#paused.delete(pod.pod);
      let result: PushResult = "failed";
      let why: string | undefined;
      try {
        const answer = await this.#o.pods.post(pod, ROUTING_PUSH_PATH, token, body, {
          timeoutMs: this.#o.timeoutMs ?? 2_000,
        });
        const answered = answerOf(answer);
        result = answered?.result ?? "failed";
        if (answered?.applied) applied++;
        if (result === "failed") why = `HTTP ${answer.status}: ${answer.text.slice(0, 200)}`;
      } catch (err) {
        why = (err as Error).message;
        this.#paused.set(pod.pod, now() + UNREACHABLE_PAUSE_MS);
      }
      this.#o.observe?.(result);
      // A pod that did not take it reads the generation from the ConfigMaps: worth a line, not a warning.
      if (why !== undefined) this.#o.log.debug("Routing push failed", { gateway, pod: pod.pod, err: why });
      return result;
    }));
    this.#o.log.info("Routing pushed", {
      gateway,
      sequence: generation.sequence,
      shards: generation.shards.length,
      pods: pods.length,
      taken: results.filter((r) => r === "taken").length,
      applied,
      skipped: results.filter((r) => r === "skipped").length,
      // from the first request sent to the last answer (the bench places the push by it)
      durationMs: Math.round((performance.now() - started) * 10) / 10,
    });
  }
}
