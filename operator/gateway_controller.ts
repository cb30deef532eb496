/**
 * The operator's two controllers on the shared caches:
 *
 * - GatewayClass controller, key = class name: writes Accepted, SupportedVersion and supportedFeatures;
 * - Gateway controller, key = `namespace/name`: translate → apply children → write Gateway and route status.
 *
 * Events never drive logic: {@linkcode GatewayController.onChange} only maps an object (old and new) to the keys
 * it affects and enqueues them. A reconcile reads the caches, so lost or merged events, resyncs and start-up all
 * take the same path.
 *
 * @module
 */
import type { EventRecorder, KubeObject } from "../internal/kube/mod.ts";
import type { Logger } from "../internal/log.ts";
import { kubeTime } from "../internal/kube_time.ts";
import { CONTROLLER_NAME, gatewayNameOf } from "../internal/names.ts";
import { type ReconcileResult, runWorkers, WorkQueue } from "../internal/work_queue.ts";
import type { BackendTlsPolicy, Gateway, GatewayClass, HttpRoute, ListenerSet, Namespace, Pod } from "./api_types.ts";
import { type CachePolicy, validatePolicy } from "./cache_policy/mod.ts";
import {
  type ChildObject,
  GATEWAY_NAMESPACE_LABEL,
  type OperatorSecretAccess,
  operatorSecretBindings,
} from "./children.ts";
import { secretNamespaces } from "./secret_access.ts";
import type { Snapshot } from "./snapshot.ts";
import {
  classGateway,
  type Ingress,
  type IngressClass,
  ingressClassOf,
  ingressGateway,
  type IngressResult,
} from "./ingress/mod.ts";
import { type BackendTlsProblemChange, BackendTlsProblems } from "./backend_tls_problems.ts";
import { type ChildrenWriter, describeConflicts } from "./children_writer.ts";
import type { ClusterWatcher } from "./cluster_watcher.ts";
import { gatewayDependencies } from "./dependencies.ts";
import type { ParameterDefaults } from "./gateway_parameters.ts";
import type { OwnWrites } from "./own_writes.ts";
import { keyOf, listenerSetParentKey, routeGatewayKeys } from "./snapshot_index.ts";
import {
  gatewayEvents,
  type GatewayStatus,
  type ListenerSetStatusResult,
  parametersEvents,
  type PlannedEvent,
  routeEvents,
  type RouteStatusResult,
  skippedPolicyEvents,
  skippedRuleEvents,
  withChildConflicts,
} from "./status/mod.ts";
import type { StatusWriter } from "./status_writer.ts";
import { type GatewayResult, restatusGateway, translate } from "./translate.ts";
import { TranslationMemo } from "./translation_memo.ts";
import { RouteIndex } from "./route_index.ts";
/** The prefix of a ListenerSet's key in the route index. */
const LISTENER_SET_INDEX = "ListenerSet:";

/** A ListenerSet's key in the route index. */
function listenerSetIndexKey(key: string): string {
  return `${LISTENER_SET_INDEX}${key}`;
}

/** How soon a Gateway looks again after a route's status alone changed. */
const STATUS_RECHECK_MS = 10_000;

/**
 * The children whose echo tells a reconcile something it did not write: the API server fills in a Service's cluster
 * IPs, which the Gateway's addresses are read from. Their echoes reconcile like anyone's change.
 */
const READ_AFTER_WRITE = new Set(["Service"]);

/** How soon a Gateway whose children's names are taken looks again whether they are free. */
const CONFLICT_RECHECK_MS = 30_000;

/**
 * The CachePolicy (`namespace/name`) of a rule of a Gateway's routing.json, by its route's `namespace/name` and rule
 * index; the table is built on the first question only (there are questions only when rules were skipped).
 */
function rulePolicies(gw: GatewayResult): (route: string, rule: number) => string | undefined {
  let policies: Map<string, string> | undefined;
  return (route, rule) => {
    if (!policies) {
      policies = new Map();
      for (const vhost of Object.values(gw.routing?.vhosts ?? {})) {
        for (const { id, cache } of vhost.routes) {
          const policy = typeof cache === "string"
            ? cache
            : cache?.policy && `${cache.policy.namespace}/${cache.policy.name}`;
          if (policy) policies.set(`${id.namespace}/${id.name}/${id.rule}`, policy);
        }
      }
    }
    return policies.get(`${route}/${rule}`);
  };
}

/** What the controllers need. */
export interface GatewayControllerOptions {
  /** The caches. */
  cache: ClusterWatcher;
  /** Child object writer. */
  children: ChildrenWriter;
  /** Status writer. */
  status: StatusWriter;
  /** Records Events on Gateways, HTTPRoutes and GatewayParameters whose state changes. */
  events?: EventRecorder;
  /** Logger. */
  log: Logger;
  /** GatewayParameters defaults. */
  defaults: ParameterDefaults;
  /** The installed Gateway API bundle version, if known. */
  crdBundleVersion?: string;
  /** Returns the current time (condition transition times). @default {() => new Date()} */
  clock?: () => Date;
  /** Called after each reconcile with the controller, outcome and duration. */
  observe?: (controller: string, outcome: string, durationMs: number) => void;
  /** Called with the duration of each translation (for the benchmark and metrics). */
  observeTranslate?: (durationMs: number) => void;
  /** Gateway workers. @default {4} */
  workers?: number;
  /** Handle only these GatewayClasses. @default {every class of our controller} */
  gatewayClassNames?: readonly string[];
  /**
   * Reach Secrets through RoleBindings the operator gives itself per Gateway (`secret_access.ts`), instead of a
   * standing right: the ClusterRole and ServiceAccount, and how to wait until new bindings are in effect.
   * @default {a standing right to the Secrets of every watched namespace}
   */
  secretAccess?: OperatorSecretAccess & { inEffect(namespaces: readonly string[]): Promise<void> };
  /**
   * The operator's own writes (shared with the writers): a change that only echoes one of them wakes nothing.
   * @default {every change wakes what it affects}
   */
  ownWrites?: OwnWrites;
}

/** Both controllers, their queues and the event mapping. */
export class GatewayController {
  /** Queue of Gateway keys. */
  readonly gateways = new WorkQueue();
  /** Queue of GatewayClass names. */
  readonly classes = new WorkQueue();
  /**
   * Queue of the keys of Ingresses whose Lacquer IngressClass names no Gateway: no Gateway reconcile reaches them, so
   * they are told here what to set.
   */
  readonly ingresses = new WorkQueue();
  /** What is wrong with the BackendTLSPolicies the Gateways use (for the metric). */
  readonly backendTlsProblems = new BackendTlsProblems();
  /**
   * Queue of route status entries to write (`<route key> <parent kind>/<parent key>`), the latest of each in
   * {@linkcode GatewayController.#routeStatuses}. A Gateway's reconcile hands them over instead of writing them
   * itself: the first reconcile after a start writes an entry on every route (minutes at 50,000 routes), and a route
   * change must not wait for that to reach the gateway pods.
   */
  readonly routeStatuses = new WorkQueue();
  #o: GatewayControllerOptions;
  /**
   * The routes under each Gateway and ListenerSet index key, by route key, as the cache holds them (the change handler
   * gets the cache's parsed objects): a reconcile lists a Gateway's routes without a lookup per route, in the same
   * order every time (a changed route keeps its place), which translation's aligned walks rely on for speed; and
   * their Namespaces, which the snapshot takes without a pass over the routes.
   */
  #routesByGateway = new RouteIndex();
  /** The index keys each route is under in {@linkcode GatewayController.#routesByGateway}. */
  #routeIndexKeys = new Map<string, readonly string[]>();
  #deps = new Map<string, Set<string>>();
  #depsOf = new Map<string, string[]>();
  /** The Gateways whose next reconcile must translate (any change but those of their status alone). */
  #translate = new Set<string>();
  /** Per Gateway, what its last translating reconcile found that a status-only reconcile reuses. */
  #lastTranslated = new Map<string, { conflicts: string; routes: readonly RouteStatusResult[] }>();
  /** Translation results reused across reconciles while their objects are unchanged; lives as long as this. */
  #memo = new TranslationMemo();
  #running = false;
  #stopped: Promise<void> | undefined;
  /** The latest route status entries to write, by route status queue key. */
  #routeStatuses = new Map<string, RouteStatusResult>();
  /** Entries written or found in place, with the cached route they were checked against: not handed over again. */
  #routeStatusDone = new WeakMap<object, KubeObject>();
  /** Route parent entries whose events were planned: translation reuses them while the route is unchanged. */
  #plannedRoutes = new WeakSet<object>();
  /** Per Gateway, the routes that had rules skipped by its pods at the last reconcile. */
  #skippedRoutes = new Map<string, Set<string>>();
  /** The CachePolicies with skipped rules, by Gateway, to clear their RuleSkipped topic once served again. */
  #skippedPolicies = new Map<string, Set<string>>();
  /** Per Ingress, the reasons of the problems last reported on it, to clear a topic once the problem is gone. */
  #ingressReasons = new Map<string, Set<string>>();

  /** Creates the controllers; call {@linkcode GatewayController.start} to run them. */
  constructor(options: GatewayControllerOptions) {
    this.#o = options;
  }

  #handles(className: string): boolean {
    return this.#o.gatewayClassNames === undefined || this.#o.gatewayClassNames.includes(className);
  }

  /** Number of Gateways with a recorded translation. */
  get managedGateways(): number {
    return this.#depsOf.size;
  }

  #enqueueDeps(dep: string): void {
    for (const key of this.#deps.get(dep) ?? []) this.#enqueue(key);
  }

  #recordDeps(gateway: string, deps: string[]): void {
    for (const dep of this.#depsOf.get(gateway) ?? []) this.#deps.get(dep)?.delete(gateway);
    if (deps.length === 0) {
      this.#depsOf.delete(gateway);
      return;
    }
    this.#depsOf.set(gateway, deps);
    for (const dep of deps) {
      let set = this.#deps.get(dep);
      if (!set) this.#deps.set(dep, set = new Set());
      set.add(gateway);
    }
  }

  /**
   * Indexes a route under the Gateways and the ListenerSets (`ListenerSet:<key>`, whichever Gateway they name when
   * the Gateway is reconciled) its parentRefs or our status entries name; returns the keys it was and is under.
   */
  #indexRoute(old: HttpRoute | undefined, current: HttpRoute | undefined): string[] {
    const routeKey = keyOf((current ?? old)!.metadata.namespace, (current ?? old)!.metadata.name);
    // where it is indexed now, too: the index holds objects, none of which may outlive the route's latest version
    const before = [
      ...new Set([
        ...(old ? routeGatewayKeys(old, CONTROLLER_NAME, listenerSetIndexKey) : []),
        ...this.#routeIndexKeys.get(routeKey) ?? [],
      ]),
    ];
    const after = current ? routeGatewayKeys(current, CONTROLLER_NAME, listenerSetIndexKey) : [];
    if (after.length > 0) this.#routeIndexKeys.set(routeKey, after);
    else this.#routeIndexKeys.delete(routeKey);
    for (const g of before) if (!after.includes(g)) this.#routesByGateway.remove(g, routeKey);
    for (const g of after) this.#routesByGateway.put(g, routeKey, current!);
    return [...new Set([...before, ...after])];
  }

  /**
   * Maps a change to the keys it affects and enqueues them. Never branches on the kind of event.
   *
   * @param kind The object's kind.
   * @param old The object before (undefined when added).
   * @param current The object after (undefined when deleted).
   */
  onChange(kind: string, old: unknown, current: unknown): void {
    const objects = [old, current].filter((o) => o !== undefined) as KubeObject[];
    if (objects.length === 0) return;
    // The route index follows every change, ours too: it is what a reconcile finds a Gateway's routes by.
    const routeParents = kind === "HTTPRoute"
      ? this.#indexRoute(old as HttpRoute | undefined, current as HttpRoute | undefined)
      : [];
    const react = () => this.#react(kind, old, current, objects, routeParents);
    const own = this.#o.ownWrites;
    if (own && !READ_AFTER_WRITE.has(kind)) {
      own.observe(kind, old as KubeObject | undefined, current as KubeObject | undefined, react);
    } else react();
  }

  /** Enqueues the keys a change affects; `routeParents`: a route's index keys, before and after. */
  #react(kind: string, old: unknown, current: unknown, objects: KubeObject[], routeParents: string[]): void {
    const key = keyOf(objects[0].metadata.namespace, objects[0].metadata.name);
    switch (kind) {
      case "GatewayClass":
        this.classes.add(key);
        for (const gw of this.#o.cache.list<Gateway>("Gateway")) {
          if (gw.spec.gatewayClassName === key) this.#enqueue(keyOf(gw.metadata.namespace, gw.metadata.name));
        }
        break;
      case "Gateway": {
        // Its status alone changed (someone else's write; the operator's own wake nothing): its status is computed
        // again, untranslated.
        const [a, b] = [old as Gateway | undefined, current as Gateway | undefined];
        const same = (x: Gateway, y: Gateway) =>
          JSON.stringify([x.metadata.labels, x.metadata.annotations, x.metadata.deletionTimestamp]) ===
            JSON.stringify([y.metadata.labels, y.metadata.annotations, y.metadata.deletionTimestamp]);
        this.#enqueue(key, 0, !(a && b && a.spec === b.spec && same(a, b)));
        break;
      }
      case "HTTPRoute": {
        const [before, after] = [old as HttpRoute | undefined, current as HttpRoute | undefined];
        const keys = before && routeGatewayKeys(before, CONTROLLER_NAME, listenerSetIndexKey).join(" ");
        // Its status alone changed (another controller's entries; the operator's own writes wake nothing): its
        // Gateways look again a little later, so that a storm of status writes wakes them a few times.
        const statusOnly = before !== undefined && after !== undefined && before.spec === after.spec &&
          keys === routeGatewayKeys(after, CONTROLLER_NAME, listenerSetIndexKey).join(" ");
        for (const gw of routeParents) this.#enqueueParent(gw, statusOnly ? STATUS_RECHECK_MS : 0, !statusOnly);
        break;
      }
      case "ListenerSet":
        for (const ls of objects as unknown as ListenerSet[]) {
          const parent = listenerSetParentKey(ls);
          if (parent) this.#enqueue(parent);
        }
        break;
      case "ReferenceGrant":
        this.#enqueueDeps(`GrantNamespace:${objects[0].metadata.namespace}`);
        break;
      case "Ingress": {
        const classes = this.#o.cache.list<IngressClass>("IngressClass");
        for (const ingress of objects as unknown as Ingress[]) {
          const gw = ingressGateway(ingress, classes);
          if (gw) this.#enqueue(gw);
        }
        if (current === undefined) this.#ingressReasons.delete(key);
        else this.#enqueueUnserved([current as Ingress], classes);
        break;
      }
      case "IngressClass":
        for (const cls of objects as unknown as IngressClass[]) {
          const target = classGateway(cls);
          if ("gateway" in target) this.#enqueue(target.gateway);
        }
        this.#enqueueUnserved(this.#o.cache.list<Ingress>("Ingress"), this.#o.cache.list<IngressClass>("IngressClass"));
        break;
      case "Namespace": {
        const [a, b] = [old as Namespace | undefined, current as Namespace | undefined];
        if (JSON.stringify(a?.metadata.labels ?? {}) !== JSON.stringify(b?.metadata.labels ?? {})) {
          this.#enqueueDeps("NamespaceLabels");
        }
        break;
      }
      case "CachePolicy":
        for (const gw of this.#policyGateways(objects as CachePolicy[])) this.#enqueue(gw);
        break;
      case "BackendTLSPolicy":
        // The Gateways whose routes use a Service it targets (or targeted), and those with an entry in its status.
        if (current === undefined) this.backendTlsProblems.forget(key);
        for (const policy of objects as unknown as BackendTlsPolicy[]) {
          const ns = policy.metadata.namespace ?? "";
          for (const ref of policy.spec.targetRefs) this.#enqueueDeps(`BackendTLS:${keyOf(ns, ref.name)}`);
          for (const { ancestorRef: ref, controllerName } of policy.status?.ancestors ?? []) {
            if (controllerName !== CONTROLLER_NAME || ref.kind !== "Gateway" || typeof ref.name !== "string") continue;
            this.#enqueue(keyOf(typeof ref.namespace === "string" ? ref.namespace : ns, ref.name));
          }
        }
        break;
      case "GatewayParameters":
        this.#enqueueDeps(`GatewayParameters:${key}`);
        for (const cls of this.#o.cache.list<GatewayClass>("GatewayClass")) {
          if (cls.spec.controllerName === CONTROLLER_NAME) this.classes.add(cls.metadata.name);
        }
        break;
      case "Service":
      case "Secret":
      case "ConfigMap":
        this.#enqueueDeps(`${kind}:${key}`);
        this.#enqueueOwner(objects);
        break;
      default:
        // Pods and the other children: the Gateway named in their labels. Pods tell only its status (the
        // configuration they serve and reject): that is computed again, untranslated.
        this.#enqueueOwner(objects, kind !== "Pod");
    }
  }

  /**
   * The Gateways a policy's targets reach: a targeted Gateway, the Gateways of a targeted route, or the Gateway of a
   * targeted Ingress's class.
   */
  #policyGateways(policies: CachePolicy[]): Set<string> {
    const keys = new Set<string>();
    const classes = this.#o.cache.list<IngressClass>("IngressClass");
    for (const policy of policies) {
      const ns = policy.metadata.namespace;
      for (const target of validatePolicy(policy).targets) {
        if (target.kind === "Gateway") keys.add(keyOf(ns, target.name));
        const ingress = target.kind === "Ingress"
          ? this.#o.cache.get<Ingress>("Ingress", keyOf(ns, target.name))
          : undefined;
        const ingressGw = ingress && ingressGateway(ingress, classes);
        if (ingressGw) keys.add(ingressGw);
        const route = target.kind === "HTTPRoute"
          ? this.#o.cache.get<HttpRoute>("HTTPRoute", keyOf(ns, target.name))
          : undefined;
        for (const gw of route ? routeGatewayKeys(route, CONTROLLER_NAME) : []) keys.add(gw);
      }
    }
    return keys;
  }

  /** Enqueues the Ingresses of a Lacquer class that names no Gateway. */
  #enqueueUnserved(ingresses: readonly Ingress[], classes: readonly IngressClass[]): void {
    for (const ingress of ingresses) {
      const cls = ingressClassOf(ingress, classes);
      if (cls && "problem" in classGateway(cls)) {
        this.ingresses.add(keyOf(ingress.metadata.namespace, ingress.metadata.name));
      }
    }
  }

  /**
   * Reconciles one Ingress whose Lacquer class names no Gateway: a Warning saying what to set on the class, and an
   * empty `status.loadBalancer` (it is served nowhere). Once the class names a Gateway, that Gateway's reconcile
   * takes the Ingress over (and clears the Warning).
   *
   * @param key The Ingress's `namespace/name`.
   * @returns Nothing (errors are retried by the queue).
   */
  async reconcileIngress(key: string): Promise<ReconcileResult> {
    const { cache } = this.#o;
    const ingress = cache.get<Ingress>("Ingress", key);
    const raw = cache.raw("Ingress", key);
    const cls = ingress && ingressClassOf(ingress, cache.list<IngressClass>("IngressClass"));
    const target = cls && classGateway(cls);
    if (!raw || !target || "gateway" in target) return;
    const result = { key, status: { loadBalancer: {} }, problems: [target.problem] };
    await this.#o.status.writeIngress(raw, result.status);
    this.#ingressEvents(raw, result);
  }

  /**
   * Enqueues a Gateway; `translate` false: for a change that affects its status alone (its pods, status writes),
   * whose reconcile then computes the status again from the last translation unless another change asked for one.
   */
  #enqueue(key: string, delayMs = 0, translate = true): void {
    if (translate) this.#translate.add(key);
    this.gateways.addAfter(key, delayMs);
  }

  /** Enqueues a Gateway, or the Gateway of a ListenerSet's index key (`ListenerSet:<key>`) when it names one. */
  #enqueueParent(indexKey: string, delayMs = 0, translate = true): void {
    const ls = indexKey.startsWith(LISTENER_SET_INDEX)
      ? this.#o.cache.get<ListenerSet>("ListenerSet", indexKey.slice(LISTENER_SET_INDEX.length))
      : undefined;
    const gateway = indexKey.startsWith(LISTENER_SET_INDEX) ? ls && listenerSetParentKey(ls) : indexKey;
    if (gateway) this.#enqueue(gateway, delayMs, translate);
  }

  #enqueueOwner(objects: KubeObject[], translate = true): void {
    for (const obj of objects) {
      const name = gatewayNameOf(obj.metadata);
      const ns = obj.metadata.labels?.[GATEWAY_NAMESPACE_LABEL] ?? obj.metadata.namespace;
      if (name && ns) this.#enqueue(`${ns}/${name}`, 0, translate);
    }
  }

  /**
   * Reconciles one Gateway.
   *
   * @param key The Gateway's `namespace/name`.
   * @param log The run's logger.
   * @returns Nothing (errors are retried by the queue).
   */
  async reconcileGateway(key: string, log: Logger): Promise<ReconcileResult> {
    if (!this.#translate.has(key) && await this.#reconcileStatus(key, log)) return;
    // Changes from now on ask for the next translation; a failed one is tried again, whatever woke it.
    this.#translate.delete(key);
    try {
      const result = await this.#reconcileTranslated(key, log);
      // the children in the way are looked at again by a translation
      if (result) this.#translate.add(key);
      return result;
    } catch (err) {
      this.#translate.add(key);
      throw err;
    }
  }

  /**
   * Reconciles a Gateway after changes that affect its status alone: its status and its ListenerSets' computed
   * again from its last translation (`restatusGateway`), its route status entries handed over again. What a full
   * reconcile would do, as nothing it reads besides pods and the Gateway's status changed meanwhile.
   *
   * @returns Whether it could (false: the Gateway needs a translation).
   */
  async #reconcileStatus(key: string, log: Logger): Promise<boolean> {
    const started = performance.now();
    const { cache } = this.#o;
    const last = this.#lastTranslated.get(key);
    const existing = cache.get<Gateway>("Gateway", key);
    const raw = cache.raw("Gateway", key);
    if (!last || !existing || !raw) return false;
    const now = kubeTime((this.#o.clock ?? (() => new Date()))());
    const redone = restatusGateway(this.#memo, key, existing, this.#podsOf(key), now);
    if (!redone) return false;
    const status = withChildConflicts(redone.gateway.status, existing, last.conflicts, now);
    await this.#o.status.writeGateway(raw, status);
    this.#gatewayEvents(raw, redone.gateway, status, last.conflicts);
    this.#handOverRouteStatuses(last.routes);
    await this.#writeListenerSets(redone.listenerSets);
    log.debug("Gateway status reconciled", {
      gateway: key,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
    });
    return true;
  }

  /** The pods of a Gateway, from the cache. */
  #podsOf(key: string): Pod[] {
    return this.#o.cache.list<Pod>("Pod").filter((p) => `${p.metadata.namespace}/${gatewayNameOf(p.metadata)}` === key);
  }

  /** Hands route status entries to their queue, but those already in place (checked against the same cached route). */
  #handOverRouteStatuses(routes: readonly RouteStatusResult[]): void {
    for (const update of routes) {
      if (this.#routeStatusDone.get(update.parents) === this.#o.cache.raw("HTTPRoute", update.key)) continue;
      const statusKey = `${update.key} ${update.kind ?? "Gateway"}/${update.gateway}`;
      this.#routeStatuses.set(statusKey, update);
      this.routeStatuses.add(statusKey);
    }
  }

  /** Writes the status of ListenerSets that exist. */
  async #writeListenerSets(listenerSets: readonly ListenerSetStatusResult[]): Promise<void> {
    for (const ls of listenerSets) {
      const raw = this.#o.cache.raw("ListenerSet", ls.key);
      if (raw) await this.#o.status.writeListenerSet(raw, ls.status);
    }
  }

  /** Reconciles a Gateway: translate, apply children, write the statuses. */
  async #reconcileTranslated(key: string, log: Logger): Promise<ReconcileResult> {
    const reconcileStarted = performance.now();
    const { cache } = this.#o;
    // The routes that name it, those that name one of the ListenerSets that name it, and those that name a
    // ListenerSet that is gone (their entries for it are removed).
    const listenerSets = cache.list<ListenerSet>("ListenerSet").filter((ls) => listenerSetParentKey(ls) === key);
    const gone = [...this.#routesByGateway.keys()].filter((k) =>
      k.startsWith(LISTENER_SET_INDEX) && !cache.get("ListenerSet", k.slice(LISTENER_SET_INDEX.length))
    );
    const indexKeys = [
      key,
      ...listenerSets.map((ls) => listenerSetIndexKey(keyOf(ls.metadata.namespace, ls.metadata.name))),
      ...gone,
    ];
    // the index's own objects, without a lookup per route: tens of thousands on a large Gateway
    let routes: HttpRoute[];
    let namespaces: Iterable<string>;
    if (indexKeys.length === 1) {
      routes = [...(this.#routesByGateway.routes(key)?.values() ?? [])];
      namespaces = this.#routesByGateway.namespaces(key);
    } else {
      const union = new Map<string, HttpRoute>();
      const namespaceUnion = new Set<string>();
      for (const k of indexKeys) {
        for (const [routeKey, route] of this.#routesByGateway.routes(k) ?? []) union.set(routeKey, route);
        for (const ns of this.#routesByGateway.namespaces(k)) namespaceUnion.add(ns);
      }
      routes = [...union.values()];
      namespaces = namespaceUnion;
    }
    const existing = cache.get<Gateway>("Gateway", key);
    const cls = existing && cache.get<GatewayClass>("GatewayClass", existing.spec.gatewayClassName);
    const ours = cls?.spec.controllerName === CONTROLLER_NAME;
    if (ours && !this.#handles(cls.metadata.name)) return;
    const snapshot = cache.snapshot([key], routes, listenerSets, namespaces);
    // What the Gateway references is watched only while it does: load it before translating, so that a reference
    // not loaded yet is never reported (or routed) as a missing object.
    const deps = ours ? gatewayDependencies(snapshot, key) : [];
    // Recorded in the same turn as the snapshot is taken: a change of what it read that arrives while this reconcile
    // works (a ReferenceGrant created just after the Gateway) wakes the Gateway again.
    this.#recordDeps(key, deps);
    const access = ours && existing
      ? await this.#secretAccess(key, existing, snapshot, deps)
      : { bindings: [], readable: undefined };
    if (ours) {
      // Secrets only where the operator may read them (elsewhere a reference reads as missing), and the Gateway's own.
      const readable = (dep: string) =>
        !dep.startsWith("Secret:") || !access.readable || access.readable.has(dep.slice(7).split("/")[0]);
      await cache.watchReferences(key, [...deps.filter(readable), `ChildSecrets:${key.split("/")[0]}`]);
    }
    cache.addReferences(snapshot, deps);
    const started = performance.now();
    const now = kubeTime((this.#o.clock ?? (() => new Date()))());
    const result = translate(snapshot, {
      now,
      defaults: this.#o.defaults,
      gateways: [key],
      crdBundleVersion: this.#o.crdBundleVersion,
      gatewayClassNames: this.#o.gatewayClassNames,
      memo: this.#memo,
    });
    const translateMs = performance.now() - started;
    this.#o.observeTranslate?.(translateMs);
    const gw = result.gateways[0];
    // A failure to apply children must not hide the status: write it anyway, then fail the run to retry.
    let childrenError: unknown = undefined;
    let conflicts = "";
    const childrenStarted = performance.now();
    let childrenMs = 0;
    let listenerSetStatuses = result.listenerSets;
    if (gw) {
      if (gw.children) {
        await this.#o.children.sync(key, [...access.bindings, ...gw.children]).then(
          (synced) => conflicts = synced.conflicts.length > 0 ? describeConflicts(synced.conflicts) : "",
          (err) => childrenError = err,
        );
        childrenMs = performance.now() - childrenStarted;
      }
      const raw = cache.raw("Gateway", key);
      if (raw && existing) {
        // The pods apply a pushed generation before its children are written and may have reported it meanwhile: the
        // status from the pods now, so that it does not say Pending for what they serve already (and flip back).
        const redone = result.ingresses.length === 0
          ? restatusGateway(this.#memo, key, existing, this.#podsOf(key), now)
          : undefined;
        if (redone) listenerSetStatuses = redone.listenerSets;
        const status = withChildConflicts((redone?.gateway ?? gw).status, existing, conflicts, now);
        await this.#o.status.writeGateway(raw, status);
        this.#gatewayEvents(raw, redone?.gateway ?? gw, status, conflicts);
      }
    } else {
      // No longer ours: remove what we made, then stop the watches of what it referenced (its own Secrets among them,
      // which the prune reads). Gone: in its namespace the garbage collector follows the owner references (and may
      // already have removed the operator's Secret RoleBinding there), so only other namespaces are ours to clean.
      await this.#o.children.prune(key, [], { elsewhereOnly: !existing });
      await cache.watchReferences(key, []);
    }
    // Route status entries go to their own queue.
    this.#handOverRouteStatuses(result.routes);
    await this.#writeListenerSets(listenerSetStatuses);
    // what a status-only change recomputes the status from (Ingresses' status needs a translation)
    if (gw && result.ingresses.length === 0) this.#lastTranslated.set(key, { conflicts, routes: result.routes });
    else this.#lastTranslated.delete(key);
    for (const update of result.backendTlsPolicies) {
      const raw = cache.raw("BackendTLSPolicy", update.key);
      await this.#o.status.writeBackendTlsAncestor(raw, update);
      // A policy deleted meanwhile is forgotten, not recorded again.
      const change = raw && this.backendTlsProblems.record(update);
      if (change) this.#backendTlsProblemChanged(raw, change, log);
    }
    for (const ingress of result.ingresses) {
      const raw = cache.raw("Ingress", ingress.key);
      if (!raw) continue;
      await this.#o.status.writeIngress(raw, ingress.status);
      this.#ingressEvents(raw, ingress);
    }
    if (childrenError !== undefined) throw childrenError;
    // The operator's share of a change's propagation (`tests/e2e/route_propagation_bench.ts` reads it), by phase:
    // before translating (references, Secret access), translating, applying the children, the statuses after them.
    const tenths = (ms: number) => Math.round(ms * 10) / 10;
    const ended = performance.now();
    log.debug("Gateway reconciled", {
      gateway: key,
      routes: routes.length,
      prepareMs: tenths(started - reconcileStarted),
      translateMs: tenths(translateMs),
      childrenMs: tenths(childrenMs),
      statusMs: tenths(ended - childrenStarted - childrenMs),
      durationMs: tenths(ended - reconcileStarted),
    });
    // The objects in the way are not watched (only Lacquer's are): look again later.
    if (conflicts !== "") return { requeueAfterMs: CONFLICT_RECHECK_MS };
  }

  /**
   * Writes the latest entries of one route for one parent, unless the cached route has them.
   *
   * @param statusKey `<route key> <parent kind>/<parent key>`.
   * @returns Nothing (errors are retried by the queue, which keeps the latest entries).
   */
  async reconcileRouteStatus(statusKey: string): Promise<ReconcileResult> {
    const update = this.#routeStatuses.get(statusKey);
    if (!update) return;
    const raw = this.#o.cache.raw("HTTPRoute", update.key);
    await this.#o.status.writeRouteParents(raw, update);
    if (raw) {
      this.#routeEvents(raw, update);
      this.#routeStatusDone.set(update.parents, raw);
    }
    // newer entries may have come meanwhile: those stay for the next run
    if (this.#routeStatuses.get(statusKey) === update) this.#routeStatuses.delete(statusKey);
  }

  /**
   * With {@linkcode GatewayControllerOptions.secretAccess}: applies the RoleBindings that let the operator read the
   * Secrets a Gateway needs and waits until new ones are in effect. Returns them (kept by the children's sync,
   * pruned with the others) and the namespaces they cover, or no bindings and no limit without it.
   */
  async #secretAccess(
    key: string,
    gateway: Gateway,
    snapshot: Snapshot,
    dependencies: readonly string[],
  ): Promise<{ bindings: ChildObject[]; readable: Set<string> | undefined }> {
    const access = this.#o.secretAccess;
    if (!access) return { bindings: [], readable: undefined };
    const namespaces = secretNamespaces(snapshot, key, { dependencies });
    const bindings = operatorSecretBindings(gateway, namespaces, access);
    const applied = await this.#o.children.apply(key, bindings);
    if (applied.writes > 0) await access.inEffect(namespaces);
    return { bindings, readable: new Set(namespaces) };
  }

  /**
   * Tells, once per change, what is wrong with a BackendTLSPolicy (the reconciles of every Gateway that uses it
   * compute it again): a warning in the log and an Event on the policy, and that it is resolved when it is.
   */
  #backendTlsProblemChanged(raw: KubeObject, change: BackendTlsProblemChange, log: Logger): void {
    const { policy, gateway, problem } = change;
    const regarding = { apiVersion: "gateway.networking.k8s.io/v1", kind: "BackendTLSPolicy", metadata: raw.metadata };
    if (problem) {
      log.warn("BackendTLSPolicy has a problem", { policy, gateway, ...problem });
      this.#o.events?.record(regarding, {
        type: "Warning",
        reason: problem.reason,
        action: "Reconcile",
        note: problem.message,
      });
    } else {
      log.info("BackendTLSPolicy problem resolved", { policy, gateway });
      this.#o.events?.record(regarding, {
        type: "Normal",
        reason: "Accepted",
        action: "Reconcile",
        note: "BackendTLSPolicy is accepted and its references resolved",
      });
    }
  }

  /** Records the Events a Gateway's new status deserves (on changes only), on it and on its GatewayParameters. */
  #gatewayEvents(raw: KubeObject, gw: GatewayResult, status: GatewayStatus, childConflicts: string): void {
    const events = this.#o.events;
    if (!events) return;
    const before = raw.status as { conditions?: never[]; listeners?: never[] } | undefined;
    const facts = {
      before: before?.conditions,
      listenersBefore: before?.listeners,
      conditions: status.conditions,
      listeners: status.listeners,
      problems: gw.rejections?.problems ?? [],
      podCount: gw.rejections?.podCount ?? 0,
      vclSource: gw.rejections?.vclSource,
      childConflicts,
      podTemplates: gw.podTemplates,
    };
    const gateway = { apiVersion: "gateway.networking.k8s.io/v1", kind: "Gateway", metadata: raw.metadata };
    for (const plan of gatewayEvents(facts)) events.transition(gateway, plan, plan.event);
    for (const params of gw.parameters ?? []) {
      const regarding = { apiVersion: "lacquer.dev/v1alpha1", kind: "GatewayParameters", metadata: params.metadata };
      for (const plan of parametersEvents(gw.key, facts)) events.transition(regarding, plan, plan.event);
    }
    const route = { kind: "HTTPRoute", apiVersion: "gateway.networking.k8s.io/v1", tracked: this.#skippedRoutes };
    this.#skippedEvents(route, gw.key, skippedRuleEvents(gw.key, facts.problems));
    const policy = { kind: "CachePolicy", apiVersion: "lacquer.dev/v1alpha1", tracked: this.#skippedPolicies };
    this.#skippedEvents(policy, gw.key, skippedPolicyEvents(gw.key, facts.problems, rulePolicies(gw)));
  }

  /**
   * Records RuleSkipped on the routes or policies of skipped rules; those served again go back to "nothing
   * skipped", so a new skip is news.
   */
  #skippedEvents(
    of: { kind: string; apiVersion: string; tracked: Map<string, Set<string>> },
    gateway: string,
    skipped: Map<string, PlannedEvent>,
  ): void {
    for (const key of of.tracked.get(gateway) ?? []) {
      if (!skipped.has(key)) skipped.set(key, { topic: `Skipped/${gateway}`, state: "" });
    }
    for (const [key, plan] of skipped) {
      const raw = this.#o.cache.raw(of.kind, key);
      if (!raw) continue;
      this.#o.events?.transition(
        { apiVersion: of.apiVersion, kind: of.kind, metadata: raw.metadata },
        plan,
        plan.event,
      );
    }
    const now = [...skipped].filter(([, plan]) => plan.state !== "").map(([key]) => key);
    if (now.length > 0) of.tracked.set(gateway, new Set(now));
    else of.tracked.delete(gateway);
  }

  /**
   * Records on an Ingress a Warning per reason of its problems when they change (an annotation that does nothing, a
   * missing Service, ...), and `Translated` once it has none.
   */
  #ingressEvents(raw: KubeObject, result: IngressResult): void {
    const events = this.#o.events;
    if (!events) return;
    const ingress = { apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: raw.metadata };
    const byReason = new Map<string, string[]>();
    for (const p of result.problems) byReason.set(p.reason, [...(byReason.get(p.reason) ?? []), p.message]);
    for (const reason of this.#ingressReasons.get(result.key) ?? []) {
      if (!byReason.has(reason)) events.transition(ingress, { topic: `Problem/${reason}`, state: "" });
    }
    for (const [reason, messages] of byReason) {
      const note = messages.join("; ");
      const event = { type: "Warning" as const, reason, action: "Translate", note };
      events.transition(ingress, { topic: `Problem/${reason}`, state: note }, event);
    }
    if (byReason.size > 0) this.#ingressReasons.set(result.key, new Set(byReason.keys()));
    else this.#ingressReasons.delete(result.key);
    const served = byReason.size === 0 ? `served by Gateway "${result.gateway}"` : "";
    const translated = { type: "Normal" as const, reason: "Translated", action: "Translate", note: served };
    events.transition(ingress, { topic: "Translated", state: served }, served ? translated : undefined);
  }

  /** Records the Events a route's new parent entries for one parent deserve (on changes only). */
  #routeEvents(raw: KubeObject, update: RouteStatusResult): void {
    const events = this.#o.events;
    if (!events || this.#plannedRoutes.has(update.parents)) return;
    this.#plannedRoutes.add(update.parents);
    const before = (raw.status as { parents?: never[] } | undefined)?.parents;
    const route = { apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute", metadata: raw.metadata };
    for (const plan of routeEvents(update.gateway, update.parents, before, update.kind)) {
      events.transition(route, plan, plan.event);
    }
  }

  /**
   * Reconciles one GatewayClass.
   *
   * @param name The class name.
   * @returns Nothing.
   */
  async reconcileClass(name: string): Promise<ReconcileResult> {
    const { cache } = this.#o;
    const cls = cache.get<GatewayClass>("GatewayClass", name);
    if (!cls || cls.spec.controllerName !== CONTROLLER_NAME || !this.#handles(name)) return;
    const snapshot = cache.snapshot([], []);
    const result = translate(snapshot, {
      now: kubeTime((this.#o.clock ?? (() => new Date()))()),
      defaults: this.#o.defaults,
      gateways: [],
      crdBundleVersion: this.#o.crdBundleVersion,
      gatewayClassNames: this.#o.gatewayClassNames,
    });
    const out = result.gatewayClasses.find((c) => c.name === name);
    const raw = cache.raw("GatewayClass", name);
    if (out && raw) await this.#o.status.writeGatewayClass(raw, out.status);
  }

  /** Rebuilds the route index from the cache and enqueues every class, Gateway, and Gateway a route or Ingress names. */
  enqueueAll(): void {
    this.#routesByGateway.clear();
    this.#routeIndexKeys.clear();
    for (const route of this.#o.cache.list<HttpRoute>("HTTPRoute")) this.#indexRoute(undefined, route);
    for (const cls of this.#o.cache.list<GatewayClass>("GatewayClass")) this.classes.add(cls.metadata.name);
    for (const gw of this.#o.cache.list<Gateway>("Gateway")) {
      this.#enqueue(keyOf(gw.metadata.namespace, gw.metadata.name));
    }
    for (const key of this.#routesByGateway.keys()) this.#enqueueParent(key);
    for (const ls of this.#o.cache.list<ListenerSet>("ListenerSet")) {
      const parent = listenerSetParentKey(ls);
      if (parent) this.#enqueue(parent);
    }
    const classes = this.#o.cache.list<IngressClass>("IngressClass");
    const ingresses = this.#o.cache.list<Ingress>("Ingress");
    for (const ingress of ingresses) {
      const gw = ingressGateway(ingress, classes);
      if (gw) this.#enqueue(gw);
    }
    this.#enqueueUnserved(ingresses, classes);
  }

  /** Starts the workers (once). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    const observer = (controller: string) => ({
      reconciled: (outcome: string, durationMs: number) => this.#o.observe?.(controller, outcome, durationMs),
    });
    this.enqueueAll();
    this.#stopped = Promise.all([
      runWorkers(this.gateways, (key, log) => this.reconcileGateway(key, log), {
        log: this.#o.log.child({ controller: "gateway" }),
        workers: this.#o.workers ?? 4,
        observer: observer("gateway"),
      }),
      runWorkers(this.classes, (key) => this.reconcileClass(key), {
        log: this.#o.log.child({ controller: "gatewayclass" }),
        observer: observer("gatewayclass"),
      }),
      runWorkers(this.ingresses, (key) => this.reconcileIngress(key), {
        log: this.#o.log.child({ controller: "ingress" }),
        observer: observer("ingress"),
      }),
      // Route status writes are independent of each other: a few at a time.
      runWorkers(this.routeStatuses, (key) => this.reconcileRouteStatus(key), {
        log: this.#o.log.child({ controller: "routestatus" }),
        workers: 16,
        observer: observer("routestatus"),
      }),
    ]).then(() => {});
  }

  /** Stops the queues and waits for running reconciles to finish. */
  async stop(): Promise<void> {
    this.gateways.shutDown();
    this.classes.shutDown();
    this.ingresses.shutDown();
    // The entries still queued are left to the next operator (its first reconcile computes them again): the workers
    // find nothing to write and stop.
    this.#routeStatuses.clear();
    this.routeStatuses.shutDown();
    await this.#stopped;
  }
}
