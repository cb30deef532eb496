/**
 * The one code path behind the CacheInvalidation controller and the HTTP API: finds the live pods of the target
 * Gateways in the operator's caches and sends the invalidation to each pod's chaperone (`POST /invalidate` on its
 * admin port, with the Gateway's admin token), all in parallel, each request with a deadline. It never retries: the
 * controller retries by pass, the HTTP API answers what happened.
 *
 * @module
 */
import { type Invalidation, invalidationKind } from "../../internal/invalidation/mod.ts";
import { KubeApiError, type KubeClient } from "../../internal/kube/mod.ts";
import { CHAPERONE_ADMIN_PORT, gatewayNameOf } from "../../internal/names.ts";
import { adminTokenFromSecret, adminTokenSecretName } from "../admin_token.ts";
import type { Gateway, HttpRoute, Pod } from "../api_types.ts";
import type { ClusterWatcher } from "../cluster_watcher.ts";
import { type Ingress, type IngressClass, ingressScopeRoutes } from "../ingress/mod.ts";
import { keyOf } from "../snapshot_index.ts";
import type { InvalidationMetrics } from "./metrics.ts";
import type { PodAttempt } from "./results.ts";
import type { ScopeInput } from "./scope.ts";

/** The path of the chaperone's invalidation endpoint. */
export const POD_INVALIDATE_PATH = "/invalidate";

/** A live gateway pod. */
export interface TargetPod {
  /** `namespace/name`. */
  pod: string;
  /** Its Gateway, `namespace/name`. */
  gateway: string;
  /** Its IP. */
  ip: string;
}

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
}

/** Sends invalidations to gateway pods. */
export class InvalidationExecutor {
  #o: ExecutorOptions;
  // Admin tokens by Secret key, valid while the cached Secret has the same resourceVersion.
  #tokens = new Map<string, { resourceVersion: string | undefined; token: string }>();

  /** Creates the executor. */
  constructor(options: ExecutorOptions) {
    this.#o = options;
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
    const wanted = new Set(gateways);
    const out: TargetPod[] = [];
    for (const p of this.#o.cache.list<Pod>("Pod")) {
      const gateway = keyOf(p.metadata.namespace, gatewayNameOf(p.metadata) ?? "");
      const ip = p.status?.podIP;
      if (!wanted.has(gateway) || !ip || p.metadata.deletionTimestamp) continue;
      out.push({ pod: keyOf(p.metadata.namespace, p.metadata.name), gateway, ip });
    }
    return out.sort((a, b) => a.pod.localeCompare(b.pod));
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
      if (!tokens.has(gateway)) tokens.set(gateway, this.#adminToken(gateway));
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
    const timeoutMs = this.#o.podTimeoutMs ?? 5_000;
    const host = pod.ip.includes(":") ? `[${pod.ip}]` : pod.ip;
    const attempt = (ok: boolean, extra: Partial<PodAttempt>): PodAttempt => ({
      pod: pod.pod,
      ok,
      durationMs: performance.now() - began,
      ...extra,
    });
    try {
      const timeout = AbortSignal.timeout(timeoutMs);
      const response = await fetch(
        `http://${host}:${this.#o.adminPort ?? CHAPERONE_ADMIN_PORT}${POD_INVALIDATE_PATH}`,
        {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body,
          signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
        },
      );
      const text = await response.text();
      let answer: { affected?: unknown; error?: unknown } = {};
      try {
        answer = JSON.parse(text);
      } catch {
        // not JSON: the message below quotes the text
      }
      if (response.status === 200) {
        return attempt(true, typeof answer.affected === "number" ? { affected: answer.affected } : {});
      }
      const why = typeof answer.error === "string" ? answer.error : text.slice(0, 200);
      return attempt(false, { error: `HTTP ${response.status}: ${why}` });
    } catch (err) {
      const e = err as Error;
      const error = e.name === "TimeoutError"
        ? `no answer within ${timeoutMs} ms`
        : `unreachable: ${e.message.slice(0, 200)}`;
      return attempt(false, { error });
    }
  }

  async #adminToken(gateway: string): Promise<string> {
    const [namespace, name] = gateway.split("/");
    const secret = keyOf(namespace, adminTokenSecretName(name));
    const cachedVersion = this.#o.cache.raw("Secret", secret)?.metadata.resourceVersion;
    const known = this.#tokens.get(secret);
    if (known && cachedVersion !== undefined && known.resourceVersion === cachedVersion) return known.token;
    let object: { metadata: { resourceVersion?: string }; data?: Record<string, string> };
    try {
      object = await this.#o.client.request(`/api/v1/namespaces/${namespace}/secrets/${adminTokenSecretName(name)}`);
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 404) throw new Error(`admin token Secret ${secret} not found`);
      throw new Error(`admin token Secret ${secret} unreadable: ${(err as Error).message}`);
    }
    const token = adminTokenFromSecret(object);
    if (!token) throw new Error(`admin token Secret ${secret} holds no token`);
    this.#tokens.set(secret, { resourceVersion: object.metadata.resourceVersion, token });
    return token;
  }
}
