/**
 * The CacheInvalidation controller, key = `namespace/name`, run by the leader only. Level-triggered: each pass reads
 * the object and its status from the cache, asks the pods that still need it (`executor.ts`), computes the next
 * status (`phase.ts`, pure) and writes it once, as a merge patch on `/status` carrying the cached resourceVersion, so
 * a pass that read a stale object gets a conflict and runs again instead of undoing a newer status. The first pass
 * writes `Pending` before anything else, so the object shows a phase at once. While no Gateway serves its hostname
 * for its namespace (routes applied a moment ago have no status from us yet) it stays `Pending`, woken by every
 * Gateway and HTTPRoute change, and turns `Failed` only when the deadline since its creation passes. Passes repeat
 * with back-off while pods are unreachable, until every target is done or the deadline passes; a terminal object is
 * deleted once its retention is over.
 *
 * @module
 */
import { invalidationKind, parseInvalidation } from "../../internal/invalidation/mod.ts";
import { type EventRecorder, KubeApiError, type KubeClient } from "../../internal/kube/mod.ts";
import { kubeTime } from "../../internal/kube_time.ts";
import type { Logger } from "../../internal/log.ts";
import { type ReconcileResult, runWorkers, WorkQueue } from "../../internal/work_queue.ts";
import type { Pod } from "../api_types.ts";
import type { ClusterWatcher } from "../cluster_watcher.ts";
import { keyOf } from "../snapshot_index.ts";
import { sameStatus } from "../status_writer.ts";
import {
  CACHE_INVALIDATION_API_VERSION,
  CACHE_INVALIDATION_KIND,
  type CacheInvalidation,
  cacheInvalidationPath,
  gatewayRefsOf,
  invalidationRequestOf,
} from "./cache_invalidation.ts";
import type { InvalidationExecutor } from "./executor.ts";
import {
  failedStatus,
  type InvalidationStatus,
  isTerminal,
  nextStatus,
  pendingStatus,
  podsToAttempt,
} from "./phase.ts";
import { targetGateways } from "./scope.ts";

/** What of a pod matters to a running invalidation: whether it exists, is live (IP, not terminating) and ready. */
function podState(pod: Pod | undefined): string {
  if (!pod) return "absent";
  const live = pod.status?.podIP !== undefined && !pod.metadata.deletionTimestamp;
  const ready = pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
  return `${live}/${ready}`;
}

/** Options of {@linkcode InvalidationController}. */
export interface InvalidationControllerOptions {
  /** The caches (kind "CacheInvalidation" among them). */
  cache: Pick<ClusterWatcher, "get" | "raw" | "list">;
  /** Writes status and deletes expired objects (fenced to the leader). */
  writer: KubeClient;
  /** Sends the invalidations. */
  executor: InvalidationExecutor;
  /** Logger. */
  log: Logger;
  /** How long an invalidation may run before it turns terminal. */
  deadlineMs: number;
  /** How long a terminal object is kept. */
  retentionMs: number;
  /** Returns the current time. @default {() => new Date()} */
  clock?: () => Date;
  /** Called after each reconcile with the outcome and duration. */
  observe?: (controller: string, outcome: string, durationMs: number) => void;
  /** Called once per invalidation that turns terminal, with its kind and phase. */
  observeOutcome?: (kind: string, phase: string) => void;
  /** Records an Event on each change of phase. */
  events?: EventRecorder;
}

/** Runs CacheInvalidations. */
export class InvalidationController {
  /** Queue of CacheInvalidation keys. */
  readonly queue = new WorkQueue();
  #o: InvalidationControllerOptions;
  #running = false;
  #stopped: Promise<void> | undefined;
  // Per key, the resourceVersions this replica's status writes replaced: a pass that finds one in the cache reads a
  // copy older than its own last write, and would send to pods again what they already confirmed.
  #superseded = new Map<string, Set<string>>();

  /** Creates the controller; call {@linkcode InvalidationController.start} to run it. */
  constructor(options: InvalidationControllerOptions) {
    this.#o = options;
  }

  #unfinished(): CacheInvalidation[] {
    return this.#o.cache.list<CacheInvalidation>(CACHE_INVALIDATION_KIND).filter((o) =>
      !isTerminal((o.status as InvalidationStatus | undefined)?.phase)
    );
  }

  #enqueue(o: CacheInvalidation): void {
    this.queue.add(keyOf(o.metadata.namespace, o.metadata.name));
  }

  /**
   * Maps a change to keys: a new or changed CacheInvalidation (not a status write, which would undo the back-off of
   * the pass that wrote it) to itself; a Gateway or HTTPRoute change (it may now serve the hostname) to the
   * invalidations not sent yet; a gateway pod that disappears, or changes liveness or readiness (it may be reachable
   * again, or gone), to the unfinished invalidations that target it.
   *
   * @param kind The object's kind.
   * @param old The object before (undefined when added).
   * @param current The object after (undefined when deleted).
   */
  onChange(kind: string, old: unknown, current: unknown): void {
    if (kind === CACHE_INVALIDATION_KIND) {
      const [before, after] = [old, current] as (CacheInvalidation | undefined)[];
      if (!after) {
        if (before) this.#superseded.delete(keyOf(before.metadata.namespace, before.metadata.name));
        return;
      }
      if (before && before.metadata.generation === after.metadata.generation) return;
      this.#enqueue(after);
    }
    if (kind === "Gateway" || kind === "HTTPRoute") {
      for (const o of this.#unfinished()) {
        const phase = (o.status as InvalidationStatus | undefined)?.phase;
        if (phase === undefined || phase === "Pending") this.#enqueue(o);
      }
    }
    const pod = (current ?? old) as Pod | undefined;
    if (kind === "Pod" && pod && podState(old as Pod | undefined) !== podState(current as Pod | undefined)) {
      const key = keyOf(pod.metadata.namespace, pod.metadata.name);
      for (const o of this.#unfinished()) {
        const targets = (o.status as InvalidationStatus | undefined)?.pods ?? [];
        if (targets.some((t) => t.pod === key)) this.#enqueue(o);
      }
    }
  }

  /**
   * One pass over one CacheInvalidation.
   *
   * @param key `namespace/name`.
   * @param log The pass's logger.
   * @returns When to look again.
   */
  async reconcile(key: string, log: Logger): Promise<ReconcileResult> {
    const object = this.#o.cache.get<CacheInvalidation>(CACHE_INVALIDATION_KIND, key);
    const raw = this.#o.cache.raw(CACHE_INVALIDATION_KIND, key);
    if (!object || !raw) {
      this.#superseded.delete(key);
      return;
    }
    const version = raw.metadata.resourceVersion;
    if (version !== undefined && this.#superseded.get(key)?.has(version)) return { requeueAfterMs: 100 };
    const now = (this.#o.clock ?? (() => new Date()))();
    let previous = object.status as InvalidationStatus | undefined;
    if (previous && isTerminal(previous.phase)) return await this.#collect(key, raw.metadata, previous, now, log);
    const generation = object.metadata.generation ?? 1;
    let metadata = raw.metadata;
    const parsed = parseInvalidation(invalidationRequestOf(object));
    if (!parsed.ok) {
      const failed = failedStatus(generation, kubeTime(now), parsed.error);
      return await this.#finish(key, metadata, previous, failed, log, "invalid");
    }
    const invalidation = parsed.value;
    const scope = targetGateways(
      invalidation.hostname,
      invalidation.namespace,
      gatewayRefsOf(object),
      this.#o.executor.scope(),
    );
    if (!scope.ok) {
      const created = Date.parse(object.metadata.creationTimestamp ?? "") || now.getTime();
      const leftMs = created + this.#o.deadlineMs - now.getTime();
      if ((previous?.phase ?? "Pending") === "Pending" && leftMs > 0) {
        // Not served yet: Gateway and HTTPRoute changes wake it; the deadline pass turns it Failed.
        const waiting = pendingStatus(generation, `waiting for a Gateway: ${scope.error}`);
        await this.#writeStatus(key, metadata, previous, waiting);
        return { requeueAfterMs: leftMs };
      }
      return await this.#finish(
        key,
        metadata,
        previous,
        failedStatus(generation, kubeTime(now), scope.error, previous),
        log,
        invalidationKind(invalidation),
      );
    }
    if (!previous) {
      // Shown at once, not only after the fan-out; this pass goes on from the version that write made.
      const pending = pendingStatus(generation);
      metadata = { ...metadata, resourceVersion: await this.#writeStatus(key, metadata, previous, pending) };
      previous = pending;
    }
    const live = this.#o.executor.livePods(scope.gateways);
    const ask = new Set(podsToAttempt(previous, live.map((p) => p.pod)));
    const attempts = await this.#o.executor.fanOut(invalidation, live.filter((p) => ask.has(p.pod)));
    const startedAt = previous.startedAt ? Date.parse(previous.startedAt) : now.getTime();
    const next = nextStatus({
      generation,
      now: kubeTime(now),
      elapsedMs: now.getTime() - startedAt,
      deadlineMs: this.#o.deadlineMs,
      previous,
      live: live.map((p) => p.pod),
      attempts,
    });
    for (const a of attempts.filter((a) => !a.ok)) {
      log.info("Gateway pod not invalidated yet", { pod: a.pod, error: a.error });
    }
    if (isTerminal(next.status.phase)) {
      return await this.#finish(key, metadata, previous, next.status, log, invalidationKind(invalidation));
    }
    await this.#writeStatus(key, metadata, previous, next.status);
    return { requeueAfterMs: next.retryAfterMs ?? 1_000 };
  }

  async #finish(
    key: string,
    metadata: { resourceVersion?: string; uid?: string },
    previous: InvalidationStatus | undefined,
    status: InvalidationStatus,
    log: Logger,
    kind: string,
  ): Promise<ReconcileResult> {
    await this.#writeStatus(key, metadata, previous, status);
    this.#o.observeOutcome?.(kind, status.phase);
    log.info("CacheInvalidation finished", {
      phase: status.phase,
      succeeded: status.succeeded,
      total: status.total,
      ...(status.message ? { message: status.message } : {}),
    });
    return { requeueAfterMs: this.#o.retentionMs };
  }

  /** Writes a status unless it is `previous`; returns the object's resourceVersion after. */
  async #writeStatus(
    key: string,
    metadata: { resourceVersion?: string; uid?: string },
    previous: InvalidationStatus | undefined,
    status: InvalidationStatus,
  ): Promise<string | undefined> {
    if (previous && sameStatus(previous, status)) return metadata.resourceVersion;
    const [namespace, name] = key.split("/");
    this.#recordPhase(namespace, name, metadata, previous, status);
    const written = await this.#o.writer.request<{ metadata?: { resourceVersion?: string } }>(
      `${cacheInvalidationPath(namespace, name)}/status`,
      {
        method: "PATCH",
        contentType: "application/merge-patch+json",
        // The resourceVersion makes a pass that read a stale object fail with 409 and run again.
        body: { metadata: { resourceVersion: metadata.resourceVersion }, status },
      },
    );
    if (metadata.resourceVersion !== undefined) {
      this.#superseded.set(key, (this.#superseded.get(key) ?? new Set()).add(metadata.resourceVersion));
    }
    return written?.metadata?.resourceVersion;
  }

  #recordPhase(
    namespace: string,
    name: string,
    metadata: { uid?: string },
    previous: InvalidationStatus | undefined,
    status: InvalidationStatus,
  ): void {
    const regarding = {
      apiVersion: CACHE_INVALIDATION_API_VERSION,
      kind: CACHE_INVALIDATION_KIND,
      metadata: { namespace, name, uid: metadata.uid },
    };
    const counts = `${status.succeeded} of ${status.total} gateway pods done`;
    this.#o.events?.transition(regarding, { topic: "Phase", state: status.phase, assumed: previous?.phase }, {
      type: status.phase === "PartiallyFailed" || status.phase === "Failed" ? "Warning" : "Normal",
      reason: status.phase,
      action: "Invalidate",
      note: status.message ? `${counts}; ${status.message}` : counts,
    });
  }

  async #collect(
    key: string,
    metadata: { uid?: string },
    status: InvalidationStatus,
    now: Date,
    log: Logger,
  ): Promise<ReconcileResult> {
    const completed = Date.parse(status.completedAt ?? "") || now.getTime();
    const leftMs = completed + this.#o.retentionMs - now.getTime();
    if (leftMs > 0) return { requeueAfterMs: leftMs };
    const [namespace, name] = key.split("/");
    try {
      await this.#o.writer.request(cacheInvalidationPath(namespace, name), {
        method: "DELETE",
        body: { kind: "DeleteOptions", apiVersion: "v1", preconditions: { uid: metadata.uid } },
      });
      log.info("CacheInvalidation deleted after its retention", { phase: status.phase });
    } catch (err) {
      if (!(err instanceof KubeApiError && (err.code === 404 || err.code === 409))) throw err;
    }
  }

  /** Starts the workers (once) and enqueues every cached invalidation. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    for (const o of this.#o.cache.list<CacheInvalidation>(CACHE_INVALIDATION_KIND)) {
      this.queue.add(keyOf(o.metadata.namespace, o.metadata.name));
    }
    this.#stopped = runWorkers(this.queue, (key, log) => this.reconcile(key, log), {
      log: this.#o.log.child({ controller: "cacheinvalidation" }),
      workers: 4,
      observer: {
        reconciled: (outcome: string, durationMs: number) =>
          this.#o.observe?.("cacheinvalidation", outcome, durationMs),
      },
    });
  }

  /** Stops the queue and waits for running passes to finish. */
  async stop(): Promise<void> {
    this.queue.shutDown();
    await this.#stopped;
  }
}
