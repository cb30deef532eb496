/**
 * Wiring of `lacquer chaperone`: the parts (varnishd and hitch supervision, the watchers and the sync loop, readiness,
 * metrics, drain, the admin server, the reaper) are built here and connected; each part's policy lives in its own
 * module.
 *
 * @module
 */
import { serveAdmin } from "../internal/admin_server.ts";
import { cachedCall } from "../internal/cached_call.ts";
import { createKubeClient, type KubeClient, loadKubeCredentials, type ObjectWatcher } from "../internal/kube/mod.ts";
import type { Logger } from "../internal/log.ts";
import { GHOST_PEER_SOCKET_NAME } from "../internal/names.ts";
import { listenForStopSignals } from "../internal/stop_signals.ts";
import { AccessLogger } from "./access_logger.ts";
import { type AdminBackend, type AdminHandler, AdminHttpError, createAdminHandler } from "./admin_handler.ts";
import { fetchRoutingShard, type GatewayConfig, watchConfigMap } from "./config_map_watcher.ts";
import { ShardedRoutingReader } from "./routing_shards_reader.ts";
import { PUSH_APPLY_WAIT_MS, PushedRouting } from "./pushed_routing.ts";
import { type RoutingShardsWatch, watchRoutingShards } from "./routing_shards_watcher.ts";
import { AdminTokenFile } from "./admin_token_file.ts";
import { peerIdentity } from "./peer_identity.ts";
import { openClientSessions } from "./client_sessions.ts";
import { Drain } from "./drain.ts";
import { drainGhost } from "./ghost_drain_client.ts";
import { EndpointsWatcher } from "./endpoints_watcher.ts";
import { renderCacheMetrics } from "./cache_metrics.ts";
import { renderClusterMetrics } from "./cluster_metrics.ts";
import { GhostInvalidateError, invalidateGhost } from "./ghost_invalidate_client.ts";
import { ghostServingRevision, reloadGhost } from "./ghost_reload_client.ts";
import { type GhostStats, readGhostStats } from "./ghost_stats_client.ts";
import { renderMirrorMetrics } from "./mirror_metrics.ts";
import { renderTransportMetrics } from "./transport_metrics.ts";
import { tlsBackendPorts } from "./hitch_config.ts";
import type { HitchSupervisor } from "./hitch_supervisor.ts";
import {
  type ChaperoneMetrics,
  countInvalidation,
  emptyMetrics,
  renderMetrics,
  type VarnishCounter,
  withLiveGauges,
} from "./metrics.ts";
import type { ChaperoneConfig } from "./options.ts";
import { writeAppliedAnnotations } from "./pod_annotation_writer.ts";
import { readiness } from "./readiness.ts";
import { startReaper } from "./reaper.ts";
import { SyncLoop } from "./sync_loop.ts";
import { startTlsTermination, type TlsTermination } from "./tls_termination.ts";
import { backendClientCertificateOf, watchTlsSecret } from "./tls_secret_watcher.ts";
import { prepareVclCompileCache } from "./vcl_compile_cache.ts";
import { varnishdArgs } from "./varnishd_args.ts";
import { retainKeptPorts } from "./keeper_client.ts";
import { KEEPER_PRELOAD_PATH, keeperEnv } from "./socket_keeper.ts";
import { VarnishdSupervisor } from "./varnishd_supervisor.ts";
import { readVarnishCounters } from "./varnishstat_reader.ts";

/** Options of {@linkcode runChaperone}. */
export interface ChaperoneOptions {
  /** The logger every component derives its own from. */
  log: Logger;
  /** The validated configuration. */
  config: ChaperoneConfig;
  /** The API client. @default {one built from `config.kubeconfig`, else the in-cluster service account} */
  client?: KubeClient;
  /** Resolves to stop the chaperone as SIGTERM would (tests). @default {SIGTERM, SIGINT or SIGQUIT} */
  stopSignal?: Promise<void>;
  /** Reap orphaned processes. @default {true when this process is PID 1} */
  reapZombies?: boolean;
  /** Where access log lines go (tests). @default {stdout} */
  accessLogWrite?: (line: string) => Promise<void>;
}

/** Internals exposed for the tests of the wiring. */
export interface RunningChaperone {
  /** The admin handler. */
  handler: AdminHandler;
  /** The supervisor. */
  supervisor: VarnishdSupervisor;
  /** The sync loop. */
  sync: SyncLoop;
  /** One hitch per TLS listener socket, by socket name. */
  hitches: ReadonlyMap<string, HitchSupervisor>;
  /** The counters. */
  metrics: ChaperoneMetrics;
  /** Resolves with the exit code. */
  exit: Promise<number>;
}

/** The files in the work directory. */
interface WorkFiles {
  /** varnishd's `-n` directory (varnishstat reads it too). */
  instanceDir: string;
  /** The CLI secret file (`-S`). */
  secretFile: string;
  /** The CLI secret. */
  secret: Uint8Array;
  /** Where the sync loop writes ghost.json. */
  ghostJsonPath: string;
  /** varnishd's VCL compiler: the cache of compiled VCL in the work directory. */
  ccCommand: string;
}

/** Creates the work directory and a fresh CLI secret. */
async function prepareWorkDir(workDir: string): Promise<WorkFiles> {
  await Deno.mkdir(workDir, { recursive: true });
  // varnishd drops privileges when started as root; its users must be able to read ghost.json.
  await Deno.chmod(workDir, 0o755).catch(() => {});
  const secretFile = `${workDir}/secret`;
  const secret = new TextEncoder().encode(
    [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, "0")).join("") + "\n",
  );
  await Deno.remove(secretFile).catch(() => {});
  await Deno.writeFile(secretFile, secret, { mode: 0o600, createNew: true });
  return {
    instanceDir: `${workDir}/varnishd`,
    secretFile,
    secret,
    ghostJsonPath: `${workDir}/ghost.json`,
    ccCommand: await prepareVclCompileCache(workDir),
  };
}

/** The sync loop and the two watchers that poke it. */
interface SyncParts {
  sync: SyncLoop;
  configMap: ObjectWatcher<Promise<GatewayConfig>>;
  /** The Gateway's routing.json shards, held as they are written. */
  shards: RoutingShardsWatch;
  /** The routing generation the operator pushed, until the watch catches up with it. */
  pushed: PushedRouting;
  endpoints: EndpointsWatcher;
  clientSecret?: ObjectWatcher<Record<string, string> | undefined>;
}

function startSync(client: KubeClient, options: ChaperoneOptions, files: WorkFiles, metrics: ChaperoneMetrics) {
  const { config, log } = options;
  const changed = { poke: () => {} };
  const configMap = watchConfigMap(client, {
    namespace: config.namespace,
    name: config.configmap,
    onChange: () => changed.poke(),
    log: log.child({ component: "configmap" }),
  });
  const shards = watchRoutingShards(client, {
    namespace: config.namespace,
    configMap: config.configmap,
    log: log.child({ component: "routing-shards" }),
  });
  const endpoints = new EndpointsWatcher(client, {
    onChange: () => changed.poke(),
    log: log.child({ component: "endpoints" }),
  });
  const pushed = new PushedRouting(() => changed.poke());
  const pod = config.podName ? { namespace: config.namespace, name: config.podName } : undefined;
  // The Gateway's backend client certificate, when it has one: its TLS Secret, read through the API like hitch's.
  const clientSecret = config.backendClientSecret
    ? watchTlsSecret(client, {
      namespace: config.namespace,
      name: config.backendClientSecret,
      onChange: () => changed.poke(),
      log: log.child({ component: "backend-client-certificate" }),
    })
    : undefined;
  const sync = new SyncLoop({
    config: {
      current: async () => pushed.choose(await configMap.current()),
      shards: new ShardedRoutingReader((name) => fetchRoutingShard(client, config.namespace, name), shards),
    },
    endpoints,
    ghostJsonPath: files.ghostJsonPath,
    reloadGhost: (request) => reloadGhost(config.ghostPort, { request }),
    servingRevision: () => ghostServingRevision(config.ghostPort),
    publish: pod ? (applied) => writeAppliedAnnotations(client, pod, applied) : undefined,
    peer: peerIdentity(config.podIp, new AdminTokenFile(config.adminTokenFile)),
    backendClientCertificate: clientSecret && (() => backendClientCertificateOf(clientSecret.current())),
    metrics,
    log: log.child({ component: "sync" }),
    coalesceMs: config.coalesceMs,
    keepVcls: config.keepVcls,
  });
  changed.poke = () => sync.poke();
  return { sync, configMap, shards, pushed, endpoints, clientSecret } satisfies SyncParts;
}

function createVarnishd(config: ChaperoneConfig, files: WorkFiles, backendPorts: Map<string, number>, parts: {
  sync: SyncLoop;
  keeper: string | undefined;
  log: Logger;
}): VarnishdSupervisor {
  return new VarnishdSupervisor({
    varnishd: config.varnishd,
    env: keeperEnv({
      socket: parts.keeper,
      preload: KEEPER_PRELOAD_PATH,
      // Every listener varnishd binds, the loopback ones hitch forwards to among them; not its CLI or ghost socket.
      ports: [...config.listen.map((l) => l.port), ...backendPorts.values()],
    }),
    args: varnishdArgs({
      instanceDir: files.instanceDir,
      secretFile: files.secretFile,
      cliPort: config.cliPort,
      ghostPort: config.ghostPort,
      listeners: config.listen,
      proxyListeners: [...backendPorts].map(([name, port]) => ({ name, port })),
      storage: config.storage,
      vmodPath: config.vmodPath,
      http2: config.http2,
      ccCommand: files.ccCommand,
      extra: config.varnishdArg,
    }),
    cliPort: config.cliPort,
    secret: files.secret,
    log: parts.log.child({ component: "supervisor" }),
    maxFailures: config.maxRestarts,
    onStarted: (cli) => parts.sync.onVarnishStarted(cli),
  });
}

/** The keeper's socket when one is configured and the image carries the shim, else undefined (logged). */
function keeperSocket(socket: string | undefined, log: Logger): string | undefined {
  if (socket === undefined) return undefined;
  try {
    Deno.statSync(KEEPER_PRELOAD_PATH);
    return socket;
  } catch {
    log.warn("no socket keeper shim: varnishd and hitch bind their own listening sockets", {
      preload: KEEPER_PRELOAD_PATH,
    });
    return undefined;
  }
}

/**
 * Has the keeper close the sockets it keeps for ports this chaperone no longer listens on (a listener removed since an
 * earlier container of the pod bound it), so they refuse connections rather than queue them for nobody. Off the
 * start's path: only other ports are touched.
 */
function releaseOtherKeptPorts(keeper: string, ports: number[], log: Logger): void {
  retainKeptPorts(keeper, ports).catch((err) =>
    log.warn("the socket keeper did not close the sockets of other ports", { err })
  );
}

/** How long a health check, varnishstat's counters and ghost's cache counters answer the admin server. */
const ADMIN_CACHE_MS = 1000;

/** Whether varnishd's CLI is alive. */
async function varnishdHealthy(supervisor: VarnishdSupervisor): Promise<boolean> {
  // A command in progress (a VCL compile can take seconds) proves the CLI is alive; a ping would only queue behind
  // it and make a probe time out.
  if (supervisor.cli.busySince !== undefined) return true;
  await supervisor.cli.ping();
  return true;
}

/** The parts the admin server reports on. */
interface AdminParts {
  supervisor: VarnishdSupervisor;
  sync: SyncLoop;
  tls: TlsTermination;
  drain: Drain;
  metrics: ChaperoneMetrics;
  varnishCounters: () => Promise<Record<string, VarnishCounter>>;
  /** ghost's per-rule cache counters, its mirror counters and its clustered-cache counters. */
  ghostStats: () => Promise<GhostStats>;
  adminToken: AdminTokenFile;
  /** Takes the routing generations the operator pushes. */
  pushRouting: AdminBackend["pushRouting"];
  /** ghost's control socket port. */
  ghostPort: number;
  log: Logger;
}

/**
 * `POST /invalidate` on this pod: applied through ghost's control socket while varnishd runs (503 otherwise, so the
 * caller retries), one log line and the metrics per call.
 */
function invalidation(parts: AdminParts): Pick<AdminBackend, "invalidate" | "invalidationDone"> {
  return {
    invalidate: async (invalidation) => {
      const state = parts.supervisor.state;
      if (state !== "running") throw new AdminHttpError(503, `Cannot invalidate: varnishd is ${state}`);
      const started = performance.now();
      try {
        const affected = await invalidateGhost(parts.ghostPort, invalidation);
        return { affected, durationMs: Math.round((performance.now() - started) * 10) / 10 };
      } catch (err) {
        const status = err instanceof GhostInvalidateError && err.status === 400 ? 400 : 503;
        throw new AdminHttpError(status, (err as Error).message);
      }
    },
    invalidationDone: (outcome) => {
      countInvalidation(parts.metrics, outcome);
      const i = outcome.invalidation;
      const fields = {
        kind: outcome.kind,
        result: outcome.result,
        ...(i && {
          namespace: i.namespace,
          hostname: i.hostname,
          soft: i.soft,
          entries: (i.urls ?? i.prefixes ?? i.tags ?? []).length,
        }),
        ...(outcome.affected !== undefined && { affected: outcome.affected }),
        ...(outcome.durationMs !== undefined && { durationMs: outcome.durationMs }),
        ...(outcome.error !== undefined && { err: outcome.error }),
      };
      if (outcome.result === "ok") parts.log.info("Invalidation applied", fields);
      else if (outcome.result === "error") parts.log.warn("Invalidation failed", fields);
      else parts.log.info("Invalidation refused", fields);
    },
  };
}

/** The admin handler over the chaperone's parts: health, readiness, metrics, drain. */
function createAdmin(parts: AdminParts): AdminHandler {
  const { supervisor, sync, tls, drain } = parts;
  const status = () =>
    readiness({ sync: sync.status(), draining: drain.draining, varnishd: supervisor.state, hitches: tls.hitches });
  // Probes and scrapes are not rate-limited by their senders: at most one CLI ping and one varnishstat run at a time,
  // and a result answers everyone for a second.
  const healthy = cachedCall(() => varnishdHealthy(supervisor), { ttlMs: ADMIN_CACHE_MS });
  return createAdminHandler({
    healthy,
    readiness: status,
    metrics: async () => {
      const live = { ready: status().ready, draining: drain.draining, hitches: tls.hitches };
      const [counters, ghost] = await Promise.all([parts.varnishCounters(), parts.ghostStats()]);
      return renderMetrics(withLiveGauges(parts.metrics, live), counters) + renderCacheMetrics(ghost.rules, counters) +
        renderMirrorMetrics(ghost.mirrors) + renderClusterMetrics(ghost.cluster) +
        renderTransportMetrics(ghost.transport);
    },
    drain: () => void drain.start(),
    adminToken: () => parts.adminToken.read(),
    pushRouting: parts.pushRouting,
    ...invalidation(parts),
  });
}

/**
 * Starts the chaperone and returns its parts; {@linkcode RunningChaperone.exit} resolves when it has stopped.
 *
 * @param options Logger, configuration and test hooks.
 * @returns The running chaperone.
 */
export async function startChaperone(options: ChaperoneOptions): Promise<RunningChaperone> {
  const { config, log } = options;
  const files = await prepareWorkDir(config.workDir);
  const metrics = emptyMetrics();
  const reaper = (options.reapZombies ?? Deno.pid === 1) ? startReaper({ log }) : undefined;
  const client = options.client ?? createKubeClient(await loadKubeCredentials({ kubeconfig: config.kubeconfig }));
  const { sync, configMap, shards, pushed, endpoints, clientSecret } = startSync(client, options, files, metrics);
  // TLS listeners: hitch on the listener's address, varnishd behind it on a loopback PROXY socket of the same name.
  const backendPorts = tlsBackendPorts(config.tlsListen, {
    taken: [...config.listen.map((l) => l.port), config.adminAddress.port],
  });
  const keeper = keeperSocket(config.keeperSocket, log);
  if (keeper) {
    const ports = [...config.listen, ...config.tlsListen].map((l) => l.port);
    releaseOtherKeptPorts(keeper, [...ports, ...backendPorts.values()], log);
  }
  const tls = await startTlsTermination(client, {
    sockets: config.tlsListen,
    backendPorts,
    hitch: config.hitch,
    dir: `${config.workDir}/tls`,
    namespace: config.namespace,
    secretName: config.tlsSecret,
    http2: config.http2,
    keeperSocket: keeper,
    log,
    onRejections: (rejections) => sync.setTlsRejections(rejections),
  });
  const supervisor = createVarnishd(config, files, backendPorts, { sync, keeper, log });
  const readCounters = () => readVarnishCounters(files.instanceDir, { varnishstat: config.varnishstat });
  // Client connections only: other gateway pods keep idle connections to the peer listener, and a hop cut by the
  // drain is fetched from the origin by the pod that sent it.
  const clientListeners = config.listen.filter((l) => l.name !== GHOST_PEER_SOCKET_NAME);
  const listenerPorts = new Set([...clientListeners, ...config.tlsListen].map((l) => l.port));
  const drain = new Drain({
    // Uncached: the drain ends when this stops changing.
    requests: async () => (await readCounters())["MAIN.client_req"]?.value ?? 0,
    sessions: () => openClientSessions(listenerPorts),
    closeConnections: () => drainGhost(config.ghostPort),
    maxMs: config.drainSeconds * 1000,
    log,
  });
  const accessLog = config.accessLogSample > 0
    ? new AccessLogger({
      varnishncsa: config.varnishncsa,
      instanceDir: files.instanceDir,
      sampleRate: config.accessLogSample,
      write: options.accessLogWrite,
      log: log.child({ component: "access-log" }),
    })
    : undefined;
  const handler = createAdmin({
    supervisor,
    sync,
    tls,
    drain,
    metrics,
    varnishCounters: cachedCall(readCounters, { ttlMs: ADMIN_CACHE_MS }),
    ghostStats: cachedCall(() => readGhostStats(config.ghostPort), { ttlMs: ADMIN_CACHE_MS }),
    adminToken: new AdminTokenFile(config.adminTokenFile),
    pushRouting: async (push) => {
      const result = pushed.take(push, await configMap.current());
      metrics.routingPushes[result]++;
      log.debug("Routing push", { sequence: push.sequence, shards: Object.keys(push.shards).length, result });
      return { result, applied: result === "taken" && await sync.synced(push.sequence, PUSH_APPLY_WAIT_MS) };
    },
    ghostPort: config.ghostPort,
    log: log.child({ component: "admin" }),
  });
  const server = serveAdmin(config.adminAddress, handler);
  log.info("Chaperone started", {
    configMap: `${config.namespace}/${config.configmap}`,
    admin: `${config.adminAddress.hostname}:${config.adminAddress.port}`,
    listeners: config.listen.map((l) => l.name),
    tlsListeners: config.tlsListen.map((l) => l.name),
  });
  supervisor.start();
  accessLog?.start();
  sync.poke();
  const stop = async () => {
    await sync.stop();
    await tls.stop();
    await supervisor.stop();
    await accessLog?.stop();
    await configMap.stop();
    await shards.stop();
    pushed.stop();
    await endpoints.stop();
    await clientSecret?.stop();
    await server.shutdown();
    if (!options.client) client.close();
    reaper?.stop();
  };
  const exit = runUntilStopped({ supervisor, drain, stop, log, stopSignal: options.stopSignal });
  return { handler, supervisor, sync, hitches: tls.hitches, metrics, exit };
}

/**
 * Waits for a stop request or a drain started by `/drain` (then drains) or for varnishd to fail for good, then stops
 * every part. A drain always ends in exit: a pod that left its Service never stays up unready.
 *
 * @returns The exit code: 0 after a stop request, 1 when varnishd kept failing.
 */
async function runUntilStopped(parts: {
  supervisor: VarnishdSupervisor;
  drain: Drain;
  stop: () => Promise<void>;
  log: Logger;
  stopSignal?: Promise<void>;
}): Promise<number> {
  const { log } = parts;
  const signals = parts.stopSignal
    ? undefined
    : listenForStopSignals(["SIGTERM", "SIGINT", "SIGQUIT"], (signal) => log.info("Signal received", { signal }));
  const stopRequested = parts.stopSignal ?? signals!.promise;
  const outcome = await Promise.race([
    stopRequested.then(() => "stop" as const),
    parts.drain.started.then(() => "stop" as const),
    parts.supervisor.done.then((state) => state === "failed" ? "failed" as const : "stop" as const),
  ]);
  if (outcome === "stop") await parts.drain.start();
  await parts.stop();
  signals?.dispose();
  log.info("Chaperone stopped", { outcome });
  return outcome === "failed" ? 1 : 0;
}

/**
 * Runs the chaperone until SIGTERM (drain, stop varnishd, exit 0) or until varnishd keeps failing (exit 1).
 *
 * @param options Logger and configuration.
 * @returns The process exit code.
 */
export async function runChaperone(options: ChaperoneOptions): Promise<number> {
  try {
    const running = await startChaperone(options);
    return await running.exit;
  } catch (err) {
    options.log.error("Chaperone failed", { err });
    return 1;
  }
}
