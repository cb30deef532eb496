/**
 * The CachePolicy status controller, key = policy `namespace/name`: computes the policy's `status.ancestors` from
 * the caches (`cachePolicyStatuses`, pure) and writes it when it differs. Translation of policies into routing.json
 * is the Gateway controller's job; this one only reports.
 *
 * A policy's status depends on the other policies of its namespace (conflicts), on the Gateways, HTTPRoutes and
 * Ingresses it targets in its namespace, and on the Gateways those routes and Ingress classes name (which may live
 * elsewhere) and their classes. Events map to keys accordingly: a policy wakes every policy of its namespace; an
 * HTTPRoute or Ingress the policies of its namespace; a Gateway, GatewayClass or IngressClass every policy (policies
 * are few, and a reconcile that changes nothing writes nothing).
 *
 * @module
 */
import type { EventRecorder, KubeObject } from "../internal/kube/mod.ts";
import type { Logger } from "../internal/log.ts";
import { kubeTime } from "../internal/kube_time.ts";
import { type ReconcileResult, runWorkers, WorkQueue } from "../internal/work_queue.ts";
import type { Gateway, GatewayClass, HttpRoute } from "./api_types.ts";
import { CACHE_POLICY_API_VERSION, CACHE_POLICY_KIND, type CachePolicy } from "./cache_policy/mod.ts";
import type { ClusterWatcher } from "./cluster_watcher.ts";
import type { Ingress, IngressClass } from "./ingress/mod.ts";
import { keyOf } from "./snapshot_index.ts";
import { cachePolicyStatuses, policyEvents } from "./status/mod.ts";
import type { StatusWriter } from "./status_writer.ts";

/** What the controller needs. */
export interface CachePolicyControllerOptions {
  /** The caches (kind "CachePolicy" among them). */
  cache: ClusterWatcher;
  /** Status writer. */
  status: StatusWriter;
  /** Records Events on policies whose status changes. */
  events?: EventRecorder;
  /** Logger. */
  log: Logger;
  /** Returns the current time (condition transition times). @default {() => new Date()} */
  clock?: () => Date;
  /** Called after each reconcile with the outcome and duration. */
  observe?: (controller: string, outcome: string, durationMs: number) => void;
}

/** Reports CachePolicy status. */
export class CachePolicyController {
  /** Queue of policy keys. */
  readonly policies = new WorkQueue();
  #o: CachePolicyControllerOptions;
  #running = false;
  #stopped: Promise<void> | undefined;

  /** Creates the controller; call {@linkcode CachePolicyController.start} to run it. */
  constructor(options: CachePolicyControllerOptions) {
    this.#o = options;
  }

  #enqueueNamespace(namespace: string | undefined): void {
    for (const p of this.#o.cache.list<CachePolicy>("CachePolicy")) {
      if (p.metadata.namespace === namespace) this.policies.add(keyOf(p.metadata.namespace, p.metadata.name));
    }
  }

  /**
   * Maps a change to the policies whose status it may change and enqueues them.
   *
   * @param kind The object's kind.
   * @param old The object before (undefined when added).
   * @param current The object after (undefined when deleted).
   */
  onChange(kind: string, old: unknown, current: unknown): void {
    const objects = [old, current].filter((o) => o !== undefined) as KubeObject[];
    if (objects.length === 0) return;
    switch (kind) {
      case "CachePolicy":
      case "HTTPRoute":
      case "Ingress":
        this.#enqueueNamespace(objects[0].metadata.namespace);
        break;
      case "Gateway":
      case "GatewayClass":
      case "IngressClass":
        for (const p of this.#o.cache.list<CachePolicy>("CachePolicy")) {
          this.policies.add(keyOf(p.metadata.namespace, p.metadata.name));
        }
        break;
    }
  }

  /**
   * Reconciles one policy: computes its status and writes it when it differs.
   *
   * @param key The policy's `namespace/name`.
   * @returns Nothing (errors are retried by the queue).
   */
  async reconcile(key: string): Promise<ReconcileResult> {
    const { cache } = this.#o;
    const policy = cache.get<CachePolicy>("CachePolicy", key);
    const raw = cache.raw("CachePolicy", key);
    if (!policy || !raw) return;
    const namespace = policy.metadata.namespace;
    const result = cachePolicyStatuses({
      cachePolicies: cache.list<CachePolicy>("CachePolicy").filter((p) => p.metadata.namespace === namespace),
      gateways: cache.list<Gateway>("Gateway"),
      httpRoutes: cache.list<HttpRoute>("HTTPRoute").filter((r) => r.metadata.namespace === namespace),
      gatewayClasses: cache.list<GatewayClass>("GatewayClass"),
      ingresses: cache.list<Ingress>("Ingress").filter((i) => i.metadata.namespace === namespace),
      ingressClasses: cache.list<IngressClass>("IngressClass"),
    }, { now: kubeTime((this.#o.clock ?? (() => new Date()))()) }).find((s) => s.key === key);
    if (!result) return;
    await this.#o.status.writeCachePolicy(raw, result.ancestors);
    const before = (raw.status as { ancestors?: never[] } | undefined)?.ancestors;
    const regarding = { apiVersion: CACHE_POLICY_API_VERSION, kind: CACHE_POLICY_KIND, metadata: raw.metadata };
    for (const plan of policyEvents(result.ancestors, before)) this.#o.events?.transition(regarding, plan, plan.event);
  }

  /** Enqueues every cached policy. */
  enqueueAll(): void {
    for (const p of this.#o.cache.list<CachePolicy>("CachePolicy")) {
      this.policies.add(keyOf(p.metadata.namespace, p.metadata.name));
    }
  }

  /** Starts the workers (once). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.enqueueAll();
    this.#stopped = runWorkers(this.policies, (key) => this.reconcile(key), {
      log: this.#o.log.child({ controller: "cachepolicy" }),
      workers: 2,
      observer: {
        reconciled: (outcome: string, durationMs: number) => this.#o.observe?.("cachepolicy", outcome, durationMs),
      },
    });
  }

  /** Stops the queue and waits for running reconciles to finish. */
  async stop(): Promise<void> {
    this.policies.shutDown();
    await this.#stopped;
  }
}
