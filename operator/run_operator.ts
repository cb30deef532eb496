/**
 * `lacquer operator`: wiring of the shell. Loads the kubeconfig, starts the caches, the metrics and health
 * servers, optionally campaigns for the Lease, runs the controllers while leading, and shuts down in order on
 * SIGTERM/SIGINT (controllers, then the Lease, then the caches).
 *
 * @module
 */
import { abortableSleep } from "../internal/abortable_sleep.ts";
import { backoffDelay, DEFAULT_BACKOFF } from "../internal/backoff.ts";
import {
  createKubeClient,
  EventRecorder,
  KubeApiError,
  type KubeClient,
  loadKubeCredentials,
} from "../internal/kube/mod.ts";
import { fenceWrites, LeaderElector } from "../internal/leader_elector.ts";
import type { Logger } from "../internal/log.ts";
import { serveAdmin } from "../internal/admin_server.ts";
import { MetricsRegistry } from "../internal/metrics.ts";
import { CONTROLLER_NAME } from "../internal/names.ts";
import { listenForStopSignals } from "../internal/stop_signals.ts";
import { handleHealth, handleMetrics } from "./admin_handlers.ts";
import { ChildrenWriter } from "./children_writer.ts";
import { GatewayPods } from "./gateway_pods.ts";
import { RoutingPusher } from "./routing_pusher.ts";
import { ClusterWatcher, WATCHED_KINDS } from "./cluster_watcher.ts";
import { GATEWAY_API_VERSION } from "./features.ts";
import { CachePolicyController } from "./cache_policy_controller.ts";
import { waitForSecretAccess } from "./secret_access_review.ts";
import { GatewayController } from "./gateway_controller.ts";
import {
  AccessReviewer,
  invalidationApiHandler,
  InvalidationController,
  InvalidationExecutor,
  invalidationMetrics,
  RateLimiter,
} from "./invalidation/mod.ts";
import { runAdmissionWebhook, webhookDnsNames } from "./admission/mod.ts";
import type { OperatorConfig } from "./options.ts";
import { OwnWrites } from "./own_writes.ts";
import { StatusWriter } from "./status_writer.ts";

/** Options of `lacquer operator`. */
export interface OperatorOptions {
  /** The logger every component derives its own from. */
  log: Logger;
  /** The validated configuration. */
  config: OperatorConfig;
  /** Resolves when the operator must stop. @default {SIGTERM or SIGINT} */
  stop?: Promise<unknown>;
}

/** Tells whether an error is the API server's final answer (4xx other than 429), not an outage to wait out. */
function isFinalAnswer(err: unknown): err is KubeApiError {
  return err instanceof KubeApiError && err.code < 500 && err.code !== 429;
}

async function crdBundleVersion(client: KubeClient, log: Logger): Promise<string | undefined> {
  try {
    const crd = await client.request<{ metadata: { annotations?: Record<string, string> } }>(
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gateways.gateway.networking.k8s.io",
    );
    return crd.metadata.annotations?.["gateway.networking.k8s.io/bundle-version"];
  } catch (err) {
    if (!isFinalAnswer(err)) throw err;
    log.warn("Gateway API version unknown", { err, assumed: GATEWAY_API_VERSION });
    return undefined;
  }
}

/** What the operator learns from the API server before it watches anything. */
interface ApiDiscovery {
  /** The installed Gateway API bundle version, if known. */
  crdVersion: string | undefined;
  /** The kinds to watch: without one of our CRDs, not its kind. */
  kinds: typeof WATCHED_KINDS;
}

async function discoverApi(client: KubeClient, log: Logger): Promise<ApiDiscovery> {
  const crdVersion = await crdBundleVersion(client, log);
  // Without one of our CRDs, run without its kind (references to GatewayParameters are reported as invalid
  // parameters; nothing is cached) rather than waiting forever for a collection that does not exist.
  let kinds = WATCHED_KINDS;
  const ours = {
    gatewayparameters: "GatewayParameters",
    cachepolicies: "CachePolicy",
    cacheinvalidations: "CacheInvalidation",
  };
  let served: string[] = [];
  try {
    const list = await client.request<{ resources?: { name: string }[] }>("/apis/lacquer.dev/v1alpha1");
    served = (list.resources ?? []).map((r) => r.name);
  } catch (err) {
    if (!(err instanceof KubeApiError && err.code === 404)) throw err;
  }
  for (const [resource, kind] of Object.entries(ours)) {
    if (served.includes(resource)) continue;
    log.warn(`${kind} CRD not installed: ${kind} objects are ignored`, { crd: "deploy/crds/" });
    kinds = kinds.filter((k) => k.kind !== kind);
  }
  // BackendTLSPolicy is a standard Gateway API kind since v1.4; a cluster with older CRDs runs without it.
  const gatewayApi = await client.request<{ resources?: { name: string }[] }>("/apis/gateway.networking.k8s.io/v1")
    .catch((err) => {
      if (err instanceof KubeApiError && err.code === 404) return { resources: [] };
      throw err;
    });
  if (!(gatewayApi.resources ?? []).some((r) => r.name === "backendtlspolicies")) {
    log.warn("BackendTLSPolicy CRD not installed: BackendTLSPolicy objects are ignored", { crd: "gateway-api" });
    kinds = kinds.filter((k) => k.kind !== "BackendTLSPolicy");
  }
  return { crdVersion, kinds };
}

/**
 * Runs a start-up request until the API server answers: network errors, 5xx and 429 (an API server that is down
 * or starting) are retried with back-off, so an operator that starts first waits instead of crash-looping.
 *
 * @returns The result, or undefined when `signal` aborts first.
 */
async function whenReachable<T>(fn: () => Promise<T>, signal: AbortSignal, log: Logger): Promise<T | undefined> {
  for (let failures = 1; !signal.aborted; failures++) {
    try {
      return await fn();
    } catch (err) {
      if (isFinalAnswer(err)) throw err;
      const delayMs = backoffDelay(failures, { ...DEFAULT_BACKOFF, random: Math.random() });
      log.warn("API server unreachable, retrying", { failures, delayMs, err });
      await abortableSleep(delayMs, signal);
    }
  }
  return undefined;
}

/** The operator's own metrics that its parts update. */
type OperatorMetrics = ReturnType<typeof buildMetrics>;

function buildMetrics(registry: MetricsRegistry) {
  return {
    reconciles: registry.counter("lacquer_operator_reconcile_total", "Reconciles by controller and outcome."),
    duration: registry.histogram(
      "lacquer_operator_reconcile_duration_seconds",
      "Reconcile durations by controller.",
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    ),
    translate: registry.histogram(
      "lacquer_operator_translate_duration_seconds",
      "Durations of the pure translation of one Gateway.",
      [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    ),
    writes: registry.counter("lacquer_operator_writes_total", "API writes by kind and operation."),
    pushes: registry.counter(
      "lacquer_operator_routing_pushes_total",
      "Routing generations pushed to gateway pods, one per pod, by result (taken, stale, failed, skipped).",
    ),
    events: registry.counter(
      "lacquer_operator_events_total",
      "Kubernetes Events by outcome (created, series, dropped, failed).",
    ),
    invalidation: invalidationMetrics(registry),
  };
}

/**
 * What the operator has built so far. Filled in as start-up proceeds; the health and metrics servers read it from
 * the start, for the liveness probe, before the API server has answered.
 */
interface RunState {
  cache?: ClusterWatcher;
  gatewayController?: GatewayController;
  policyController?: CachePolicyController;
  events?: EventRecorder;
  invalidationController?: InvalidationController;
  /** The invalidation API's handler, once the caches it reads exist. */
  invalidationApi?: (request: Request, info?: Deno.ServeHandlerInfo) => Promise<Response>;
  elector?: LeaderElector;
  synced: boolean;
  role: "single" | "standby" | "leader";
}

/** What the parts of one operator run share. */
interface Run {
  log: Logger;
  config: OperatorConfig;
  client: KubeClient;
  /** Resolves when the operator must stop. */
  stopRequested: Promise<unknown>;
  /** Aborts when the operator must stop. */
  stopSignal: AbortSignal;
  state: RunState;
}

function registerGauges(registry: MetricsRegistry, state: RunState): void {
  registry.gauge("lacquer_operator_queue_depth", "Keys waiting per controller.", () => [
    { labels: { controller: "gateway" }, value: state.gatewayController?.gateways.length ?? 0 },
    { labels: { controller: "gatewayclass" }, value: state.gatewayController?.classes.length ?? 0 },
    { labels: { controller: "ingress" }, value: state.gatewayController?.ingresses.length ?? 0 },
    { labels: { controller: "routestatus" }, value: state.gatewayController?.routeStatuses.length ?? 0 },
    { labels: { controller: "cachepolicy" }, value: state.policyController?.policies.length ?? 0 },
    { labels: { controller: "cacheinvalidation" }, value: state.invalidationController?.queue.length ?? 0 },
  ]);
  registry.gauge(
    "lacquer_operator_cached_objects",
    "Objects in the operator's caches by kind.",
    () => Object.entries(state.cache?.counts() ?? {}).map(([kind, value]) => ({ labels: { kind }, value })),
  );
  registry.gauge("lacquer_operator_managed_gateways", "Gateways the operator manages.", () => [
    { value: state.gatewayController?.managedGateways ?? 0 },
  ]);
  registry.gauge(
    "lacquer_operator_backend_tls_policy_problems",
    "BackendTLSPolicies that Gateways use and that have a problem, by reason (Accepted=False: Conflicted, Invalid, " +
      "NoValidCACertificate; else ResolvedRefs=False: InvalidCACertificateRef, InvalidKind).",
    () =>
      Object.entries(
        state.gatewayController?.backendTlsProblems.counts((key) =>
          state.cache?.get("BackendTLSPolicy", key) !== undefined
        ) ??
          {},
      ).map(([reason, value]) => ({
        labels: { reason },
        value,
      })),
  );
  registry.gauge("process_resident_memory_bytes", "Resident memory size in bytes.", () => [
    { value: Deno.memoryUsage().rss },
  ]);
  registry.gauge("lacquer_operator_heap_used_bytes", "V8 heap in use, in bytes.", () => [
    { value: Deno.memoryUsage().heapUsed },
  ]);
  registry.gauge("lacquer_operator_leader", "1 while this replica runs the controllers.", () => [
    { value: state.role === "standby" ? 0 : 1 },
  ]);
}

/** Starts the metrics, health and invalidation API servers; throws when an address cannot be listened on. */
function serveAdminEndpoints(run: Run, registry: MetricsRegistry, signal: AbortSignal): Deno.HttpServer[] {
  const { config, state } = run;
  const health = {
    synced: () => state.synced,
    watching: () => state.cache?.healthy() ?? false,
    role: () => state.role,
  };
  return [
    serveAdmin(config.metricsAddress, (r) => handleMetrics(r, registry), { signal }),
    serveAdmin(config.healthAddress, (r) => handleHealth(r, health), { signal }),
    // Every replica serves it, leader or not, once its caches exist.
    serveAdmin(config.invalidationAddress, (r, info) => {
      if (state.invalidationApi) return state.invalidationApi(r, info);
      return Response.json({ error: "the operator is starting" }, { status: 503 });
    }, { signal }),
  ];
}

/** The watcher, the controllers it feeds, and the Events they record. */
interface Wiring {
  watcher: ClusterWatcher;
  gateways: GatewayController;
  policies: CachePolicyController;
  events: EventRecorder;
  invalidations: InvalidationController;
}

/** Builds the cluster watcher, the writers and the controllers (not started yet), and records them in the state. */
function wireControllers(run: Run, api: ApiDiscovery, metrics: OperatorMetrics): Wiring {
  const { client, config, log, state } = run;
  // Events arrive asynchronously, after the controllers below exist.
  const watcher = state.cache = new ClusterWatcher(client, {
    kinds: api.kinds,
    namespaces: config.watchNamespaces,
    log: log.child({ part: "cache" }),
    onChange: (kind, old, current) => {
      state.gatewayController?.onChange(kind, old, current);
      state.policyController?.onChange(kind, old, current);
      state.invalidationController?.onChange(kind, old, current);
    },
  });
  // With leader election, writes go out only while this replica holds the lease by its own clock: a leader that
  // lost it, or woke up from a freeze with reconciles in flight, writes nothing more.
  const writer = config.leaderElect ? fenceWrites(client, () => state.elector?.holdsLease === true) : client;
  const observe = (kind: string, op: string) => metrics.writes.inc({ kind, op });
  // The writers remember what they wrote, so that the Gateway controller is not woken by the echoes.
  const ownWrites = new OwnWrites();
  const status = new StatusWriter(writer, { log: log.child({ part: "status" }), observe, ownWrites });
  // Fenced like every other write: a replica that lost the lease reports nothing more.
  const events = state.events = new EventRecorder(writer, {
    controller: CONTROLLER_NAME,
    instance: config.identity ?? Deno.hostname(),
    log: log.child({ part: "events" }),
    observe: (outcome) => metrics.events.inc({ outcome }),
  });
  const observeReconcile = (name: string, outcome: string, ms: number) => {
    metrics.reconciles.inc({ controller: name, result: outcome });
    metrics.duration.observe(ms / 1000, { controller: name });
  };
  // Pods are reached directly for routing pushes and invalidations; pushes, like writes, only from the leader.
  const pods = new GatewayPods({ client, cache: watcher });
  const pusher = new RoutingPusher({
    pods,
    allowed: () => !config.leaderElect || state.elector?.holdsLease === true,
    observe: (result) => metrics.pushes.inc({ result }),
    log: log.child({ part: "push" }),
  });
  const children = new ChildrenWriter(writer, watcher, {
    log: log.child({ part: "children" }),
    observe,
    ownWrites,
    onRouting: (gateway, generation) => pusher.push(gateway, generation),
  });
  const gateways = state.gatewayController = new GatewayController({
    cache: watcher,
    children,
    status,
    ownWrites,
    events,
    log,
    defaults: {
      image: config.gatewayImage,
      serviceType: config.gatewayServiceType,
      replicas: config.gatewayReplicas,
      podClusterRole: config.gatewayPodClusterRole,
    },
    crdBundleVersion: api.crdVersion,
    workers: config.workers,
    gatewayClassNames: config.gatewayClass,
    observe: observeReconcile,
    observeTranslate: (ms) => metrics.translate.observe(ms / 1000),
    secretAccess: config.secretsClusterRole && config.serviceAccount
      ? {
        clusterRole: config.secretsClusterRole,
        serviceAccount: config.serviceAccount,
        inEffect: (namespaces) => waitForSecretAccess(client, namespaces),
      }
      : undefined,
  });
  const policies = state.policyController = new CachePolicyController({
    cache: watcher,
    status,
    events,
    log,
    observe: observeReconcile,
  });
  const executor = new InvalidationExecutor({
    client,
    cache: watcher,
    pods,
    controllerName: CONTROLLER_NAME,
    metrics: metrics.invalidation,
  });
  const invalidations = state.invalidationController = new InvalidationController({
    cache: watcher,
    writer,
    executor,
    log,
    deadlineMs: config.invalidationDeadline,
    retentionMs: config.invalidationRetention,
    observe: observeReconcile,
    observeOutcome: (kind, phase) =>
      metrics.invalidation.invalidations.inc({ source: "resource", kind, result: phase }),
    events,
  });
  state.invalidationApi = invalidationApiHandler({
    executor,
    reviewer: new AccessReviewer({ client }),
    limiter: new RateLimiter({ perSecond: config.invalidationRate, burst: 2 * config.invalidationRate }),
    // an address may carry several callers, but not a flood of bad tokens, each costing a TokenReview
    sourceLimiter: new RateLimiter({ perSecond: 5 * config.invalidationRate, burst: 10 * config.invalidationRate }),
    log: log.child({ part: "invalidation-api" }),
    metrics: metrics.invalidation,
    ready: () => state.synced,
  });
  return { watcher, gateways, policies, events, invalidations };
}

/**
 * Runs the controllers until the operator must stop; with leader election, only while holding the Lease.
 *
 * @returns The exit code: 1 when leadership was lost, else 0.
 */
async function lead(run: Run, wiring: Wiring): Promise<number> {
  const { config, log, state } = run;
  const start = () => {
    wiring.gateways.start();
    wiring.policies.start();
    wiring.invalidations.start();
  };
  if (!config.leaderElect) {
    start();
    await run.stopRequested;
    return 0;
  }
  const elector = state.elector = new LeaderElector({
    client: run.client,
    namespace: config.leaseNamespace,
    name: config.leaseName,
    identity: `${config.identity ?? Deno.hostname()}_${crypto.randomUUID()}`,
    log: log.child({ part: "leader" }),
  });
  const ended = elector.run({
    onStartedLeading: () => {
      state.role = "leader";
      start();
    },
  });
  const why = await Promise.race([ended, run.stopRequested.then(() => "stop")]);
  if (why !== "lost") return 0;
  log.error("Operator stops: leadership lost");
  return 1;
}

/**
 * Waits for the API server, watches the cluster, and once the caches are synced runs the controllers until the
 * operator must stop.
 *
 * @returns The exit code.
 */
async function operate(run: Run, metrics: OperatorMetrics): Promise<number> {
  const { client, config, log } = run;
  const api = await whenReachable(() => discoverApi(client, log), run.stopSignal, log);
  if (!api) return 0;
  log.info("Operator started", {
    leaderElect: config.leaderElect,
    gatewayApi: api.crdVersion,
    namespaces: config.watchNamespaces ?? "all",
  });
  const wiring = wireControllers(run, api, metrics);
  const syncedOrStopped = await Promise.race([
    wiring.watcher.synced.then(() => "synced"),
    run.stopRequested.then(() => "stop"),
  ]);
  if (syncedOrStopped !== "synced") return 0;
  run.state.synced = true;
  log.info("Caches synced", { objects: wiring.watcher.counts() });
  return await lead(run, wiring);
}

/** Stops in order, each step within its time limit: controllers, the Lease, the servers, the caches, the client. */
async function shutDown(run: Run, servers: Deno.HttpServer[], serverAbort: AbortController): Promise<void> {
  const { log, state } = run;
  log.info("Operator stopping");
  const stopping = performance.now();
  const step = async (name: string, work: Promise<unknown>, limitMs: number) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => timer = setTimeout(() => resolve("late"), limitMs));
    const outcome = await Promise.race([work.then(() => "done" as const, () => "done" as const), late]);
    clearTimeout(timer);
    if (outcome === "late") log.warn("Shutdown step took too long, moving on", { step: name, limitMs });
  };
  const controllers = [state.gatewayController, state.policyController, state.invalidationController];
  await step("controllers", Promise.all(controllers.map((c) => c?.stop())), 30_000);
  // While the lease is still held: the last series counts go out.
  await step("events", state.events?.stop() ?? Promise.resolve(), 3_000);
  await step("lease", state.elector?.stop() ?? Promise.resolve(), 5_000);
  serverAbort.abort();
  // Idle keep-alive connections of scrapers would hold `finished` open.
  await step("servers", Promise.all(servers.map((s) => s.finished)), 2_000);
  await step("caches", state.cache?.stop() ?? Promise.resolve(), 3_000);
  run.client.close();
  log.info("Operator shut down", { durationMs: Math.round(performance.now() - stopping) });
}

/**
 * Runs the operator until it is asked to stop.
 *
 * @param options Logger and configuration.
 * @returns The process exit code: 0 after a clean stop, 1 when leadership was lost or start-up failed.
 */
export async function runOperator(options: OperatorOptions): Promise<number> {
  const { log, config } = options;
  let client: KubeClient;
  try {
    client = createKubeClient(await loadKubeCredentials({ kubeconfig: config.kubeconfig }));
  } catch (err) {
    log.error("Operator cannot start", { err });
    return 1;
  }
  const signals = options.stop ? undefined : listenForStopSignals(["SIGTERM", "SIGINT"]);
  const stopRequested = options.stop ?? signals!.promise;
  const stop = new AbortController();
  void stopRequested.then(() => stop.abort());
  const state: RunState = { synced: false, role: config.leaderElect ? "standby" : "single" };
  const run: Run = { log, config, client, stopRequested, stopSignal: stop.signal, state };
  const registry = new MetricsRegistry();
  const metrics = buildMetrics(registry);
  registerGauges(registry, state);
  const serverAbort = new AbortController();
  let servers: Deno.HttpServer[];
  try {
    servers = serveAdminEndpoints(run, registry, serverAbort.signal);
  } catch (err) {
    log.error("Operator cannot listen", { err });
    client.close();
    signals?.dispose();
    return 1;
  }
  const webhook = config.webhookAddress && runAdmissionWebhook({
    client,
    log: log.child({ component: "admission-webhook" }),
    address: config.webhookAddress,
    secret: { namespace: config.leaseNamespace, name: config.webhookSecret },
    configurationName: config.webhookConfiguration,
    names: { dnsNames: webhookDnsNames(config.webhookService, config.leaseNamespace) },
    signal: serverAbort.signal,
  });
  const exitCode = await operate(run, metrics);
  await shutDown(run, servers, serverAbort);
  await webhook;
  signals?.dispose();
  log.info("Operator stopped", { exitCode });
  return exitCode;
}
