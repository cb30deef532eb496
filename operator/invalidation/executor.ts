/**
 * The one code path behind the CacheInvalidation controller and the HTTP API: finds the live pods of the target
 * Gateways in the operator's caches and sends the invalidation to each pod's chaperone (`POST /invalidate` on its
 * admin port, with the Gateway's admin token), all in parallel, each request with a deadline. It never retries: the
 * controller retries by pass, the HTTP API answers what happened.
 *
 * @module
 */
import { type Invalidation, invalidationKind } from "../../internal/invalidation/mod.ts";
import type { KubeClient } from "../../internal/kube/mod.ts";
import type { Gateway, HttpRoute } from "../api_types.ts";
import type { ClusterWatcher } from "../cluster_watcher.ts";
import { GatewayPods, type TargetPod } from "../gateway_pods.ts";
import { type Ingress, type IngressClass, ingressScopeRoutes } from "../ingress/mod.ts";
import type { InvalidationMetrics } from "./metrics.ts";
import type { PodAttempt } from "./results.ts";
import type { ScopeInput } from "./scope.ts";

export type { TargetPod };

/** The path of the chaperone's invalidation endpoint. */
export const POD_INVALIDATE_PATH = "/invalidate";

/** What the executor reads from the operator's caches. */
export type ExecutorCache = Pick<ClusterWatcher, "list" | "raw">;

/** Options of {@linkcode InvalidationExecutor}. */
export interface ExecutorOptions {
  /** API client (reads the admin token Secrets). */
  client: KubeClient;
  /** The operator's caches. */
  cache: ExecutorCache;
  /** Our controller name (scoping reads our route status entries). */
  controllerName: string;
  /** Deadline of each pod request. @default {5000} */
  podTimeoutMs?: number;
  /** The chaperone admin port (tests). @default {CHAPERONE_ADMIN_PORT} */
  adminPort?: number;
  /** Fan-out durations and objects affected. */
  metrics?: Pick<InvalidationMetrics, "fanOut" | "affected">;
  /** Finds the pods and posts to them (shared with the routing pusher). @default {one made from these options} */
  pods?: GatewayPods;
}

/** Sends invalidations to gateway pods. */
export class InvalidationExecutor {
  #o: ExecutorOptions;
  #pods: GatewayPods;

  /** Creates the executor. */
  constructor(options: ExecutorOptions) {
    this.#o = options;
    this.#pods = options.pods ?? new GatewayPods(options);
  }

  /** What scoping reads, from the caches now. */
  scope(): ScopeInput {
    return {
      controllerName: this.#o.controllerName,
      gateways: this.#o.cache.list<Gateway>("Gateway"),
      // Ingresses of our classes serve hostnames for their namespaces too.
      routes: [
        ...this.#o.cache.list<HttpRoute>("HTTPRoute"),
        ...ingressScopeRoutes(
          this.#o.cache.list<Ingress>("Ingress"),
          this.#o.cache.list<IngressClass>("IngressClass"),
          this.#o.controllerName,
        ),
      ],
    };
  }

  /**
   * Returns the live pods of some Gateways: labelled with the Gateway, with an IP, not terminating.
   *
   * @param gateways Gateway keys.
   * @returns The pods, sorted by key.
   */
  livePods(gateways: readonly string[]): TargetPod[] {
    return this.#pods.live(gateways);
  }

  /**
   * Sends one invalidation to pods in parallel.
   *
   * @param invalidation The validated invalidation.
   * @param pods The pods.
   * @param signal Aborts every request.
   * @returns One attempt per pod.
   */
  async fanOut(invalidation: Invalidation, pods: readonly TargetPod[], signal?: AbortSignal): Promise<PodAttempt[]> {
    const start = performance.now();
    const body = JSON.stringify(invalidation);
    const tokens = new Map<string, Promise<string>>();
    const tokenOf = (gateway: string) => {
      if (!tokens.has(gateway)) tokens.set(gateway, this.#pods.token(gateway));
      return tokens.get(gateway)!;
    };
    const attempts = await Promise.all(pods.map(async (p) => {
      const began = performance.now();
      let token: string;
      try {
        token = await tokenOf(p.gateway);
      } catch (err) {
        return { pod: p.pod, ok: false, durationMs: performance.now() - began, error: (err as Error).message };
      }
      return await this.#ask(p, token, body, signal);
    }));
    const metrics = this.#o.metrics;
    if (metrics) {
      metrics.fanOut.observe((performance.now() - start) / 1000);
      const affected = attempts.reduce((sum, a) => sum + (a.affected ?? 0), 0);
      if (affected > 0) metrics.affected.inc({ kind: invalidationKind(invalidation) }, affected);
    }
    return attempts;
  }

  async #ask(pod: TargetPod, token: string, body: string, signal?: AbortSignal): Promise<PodAttempt> {
    const began = performance.now();
    const attempt = (ok: boolean, extra: Partial<PodAttempt>): PodAttempt => ({
      pod: pod.pod,
      ok,
      durationMs: performance.now() - began,
      ...extra,
    });
    let answer: { status: number; text: string };
    try {
      answer = await this.#pods.post(pod, POD_INVALIDATE_PATH, token, body, {
        timeoutMs: this.#o.podTimeoutMs ?? 5_000,
        signal,
      });
    } catch (err) {
      return attempt(false, { error: (err as Error).message });
    }
    let parsed: { affected?: unknown; error?: unknown } = {};
    try {
      parsed = JSON.parse(answer.text);
    } catch {
      // not JSON: the message below quotes the text
    }
    if (answer.status === 200) {
      return attempt(true, typeof parsed.affected === "number" ? { affected: parsed.affected } : {});
    }
    const why = typeof parsed.error === "string" ? parsed.error : answer.text.slice(0, 200);
    return attempt(false, { error: `HTTP ${answer.status}: ${why}` });
  }
}
