/**
 * Wiring of `lacquer chaperone`: the supervisor, the watchers, the sync loop, the admin server, signals.
 *
 * @module
 */
import { createKubeClient, type KubeClient, loadKubeConfig } from "../internal/kube/mod.ts";
import type { Logger } from "../internal/log.ts";
import { type AdminHandler, createAdminHandler, serveAdmin } from "./admin_server.ts";
import { ConfigMapWatcher } from "./config_map_watcher.ts";
import { EndpointsWatcher } from "./endpoints_watcher.ts";
import { reloadGhost } from "./ghost_reload_client.ts";
import { selectTlsBundles, tlsBackendPorts, tlsBundleProblem } from "./hitch_config.ts";
import { HitchController } from "./hitch_controller.ts";
import { type ChaperoneMetrics, emptyMetrics, renderMetrics } from "./metrics.ts";
import type { ChaperoneConfig } from "./options.ts";
import { writeAppliedAnnotations } from "./pod_annotation_writer.ts";
import { type Reaper, startReaper, VarnishdSupervisor } from "./supervisor.ts";
import { SyncController } from "./sync_controller.ts";
import { TlsSecretWatcher } from "./tls_secret_watcher.ts";
import { varnishdArgs } from "./varnishd_args.ts";
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
}

function signalPromise(log: Logger): { promise: Promise<void>; dispose: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => resolve = r);
  const signals: Deno.Signal[] = ["SIGTERM", "SIGINT", "SIGQUIT"];
  const handlers = signals.map((signal) => {
    const handler = () => {
      log.info("Signal received", { signal });
      resolve();
    };
    Deno.addSignalListener(signal, handler);
    return { signal, handler };
  });
  return {
    promise,
    dispose: () => {
      for (const { signal, handler } of handlers) Deno.removeSignalListener(signal, handler);
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Internals exposed for the tests of the wiring. */
export interface RunningChaperone {
  /** The admin handler. */
  handler: AdminHandler;
  /** The supervisor. */
  supervisor: VarnishdSupervisor;
  /** The sync loop. */
  sync: SyncController;
  /** One hitch per TLS listener socket, by socket name. */
  hitches: Map<string, HitchController>;
  /** The counters. */
  metrics: ChaperoneMetrics;
  /** Resolves with the exit code. */
  exit: Promise<number>;
}

/**
 * Starts the chaperone and returns its parts; {@linkcode RunningChaperone.exit} resolves when it has stopped.
 *
 * @param options Logger, configuration and test hooks.
 * @returns The running chaperone.
 */
export async function startChaperone(options: ChaperoneOptions): Promise<RunningChaperone> {
  const { config, log } = options;
  await Deno.mkdir(config.workDir, { recursive: true });
  // varnishd drops privileges when started as root; its users must be able to read ghost.json.
  await Deno.chmod(config.workDir, 0o755).catch(() => {});
  const instanceDir = `${config.workDir}/varnishd`;
  const secretFile = `${config.workDir}/secret`;
  const ghostJsonPath = `${config.workDir}/ghost.json`;
  const secret = new TextEncoder().encode(
    [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, "0")).join("") + "\n",
  );
  await Deno.remove(secretFile).catch(() => {});
  await Deno.writeFile(secretFile, secret, { mode: 0o600, createNew: true });

  const metrics = emptyMetrics();
  const reaper: Reaper | undefined = (options.reapZombies ?? Deno.pid === 1) ? startReaper({ log }) : undefined;
  const client = options.client ?? createKubeClient(loadKubeConfig({ kubeconfig: config.kubeconfig }));
  let draining = false;

  // deno-lint-ignore prefer-const
  let sync: SyncController;
  const poke = () => sync?.poke();
  const configMap = new ConfigMapWatcher(client, {
    namespace: config.namespace,
    name: config.configmap,
    onChange: poke,
    log: log.child({ component: "configmap" }),
  });
  const endpoints = new EndpointsWatcher(client, { onChange: poke, log: log.child({ component: "endpoints" }) });
  const pod = config.podName ? { namespace: config.namespace, name: config.podName } : undefined;
  sync = new SyncController({
    config: configMap,
    endpoints,
    ghostJsonPath,
    reloadGhost: () => reloadGhost(config.ghostPort),
    publish: pod ? (applied) => writeAppliedAnnotations(client, pod, applied) : undefined,
    metrics,
    log: log.child({ component: "sync" }),
    coalesceMs: config.coalesceMs,
    keepVcls: config.keepVcls,
  });
  // TLS listeners: hitch on the listener's address, varnishd behind it on a loopback PROXY socket of the same name.
  const backendPorts = tlsBackendPorts(config.tlsListen, {
    taken: [...config.listen.map((l) => l.port), config.adminAddress.port],
  });
  const hitches = new Map(config.tlsListen.map((socket) => [
    socket.name,
    new HitchController({
      hitch: config.hitch,
      socket,
      backendPort: backendPorts.get(socket.name)!,
      dir: `${config.workDir}/tls/${socket.name}`,
      log: log.child({ component: "hitch", socket: socket.name }),
    }),
  ]));
  let tlsSecret: TlsSecretWatcher | undefined;
  let tlsUpdates = Promise.resolve();
  const applyCertificates = () => {
    tlsUpdates = tlsUpdates.then(async () => {
      const data = tlsSecret?.current();
      if (data === undefined) {
        log.warn("TLS Secret not found", { secret: `${config.namespace}/${config.tlsSecret}` });
        return;
      }
      for (const [name, hitch] of hitches) {
        const bundles = selectTlsBundles(data, name).filter((bundle) => {
          const problem = tlsBundleProblem(bundle.pem);
          if (problem) log.warn("TLS certificate skipped", { socket: name, key: bundle.name, problem });
          return problem === undefined;
        });
        await hitch.update(bundles).catch((err) => log.warn("TLS certificates not applied", { socket: name, err }));
      }
    });
  };
  if (hitches.size > 0) {
    await Deno.mkdir(`${config.workDir}/tls`, { recursive: true, mode: 0o700 });
    tlsSecret = new TlsSecretWatcher(client, {
      namespace: config.namespace,
      name: config.tlsSecret,
      onChange: applyCertificates,
      log: log.child({ component: "tls" }),
    });
  }

  const supervisor = new VarnishdSupervisor({
    varnishd: config.varnishd,
    args: varnishdArgs({
      instanceDir,
      secretFile,
      cliPort: config.cliPort,
      ghostPort: config.ghostPort,
      listeners: config.listen,
      proxyListeners: [...backendPorts].map(([name, port]) => ({ name, port })),
      storage: config.storage,
      vmodPath: config.vmodPath,
      extra: config.varnishdArg,
    }),
    cliPort: config.cliPort,
    secret,
    log: log.child({ component: "supervisor" }),
    maxFailures: config.maxRestarts,
    onStarted: (cli) => sync.onVarnishStarted(cli),
  });

  const readiness = () => {
    const status = sync.status();
    const hitch = Object.fromEntries([...hitches].map(([name, h]) => [name, h.state]));
    metrics.hitch = Object.fromEntries(
      [...hitches].map((
        [name, h],
      ) => [name, { up: h.state === "running" ? 1 : 0, starts: h.starts, reloads: h.reloads }]),
    );
    const tlsReady = Object.values(hitch).every((state) => state === "running");
    const ready = status.applied && !draining && supervisor.state === "running" && tlsReady;
    metrics.ready = ready ? 1 : 0;
    return { ready, draining, varnishd: supervisor.state, ...(hitches.size > 0 ? { hitch } : {}), ...status };
  };
  let drainDone: Promise<void> | undefined;
  const drain = () => {
    drainDone ??= (async () => {
      draining = true;
      metrics.draining = 1;
      log.info("Draining", { maxSeconds: config.drainSeconds });
      // Readiness is now 503, so endpoints drop this pod; wait until requests stop arriving (2 s without a new
      // request), or the bound.
      const deadline = performance.now() + config.drainSeconds * 1000;
      let last = -1;
      let quietSince = performance.now();
      while (performance.now() < deadline) {
        const counters = await readVarnishCounters(instanceDir, { varnishstat: config.varnishstat });
        const requests = counters["MAIN.client_req"]?.value ?? 0;
        if (requests !== last) {
          last = requests;
          quietSince = performance.now();
        } else if (performance.now() - quietSince >= 2000) {
          break;
        }
        await sleep(250);
      }
      log.info("Drained");
    })();
  };
  const handler = createAdminHandler({
    healthy: async () => {
      // A command in progress (a VCL compile can take seconds) proves varnishd's CLI is alive; a ping would only
      // queue behind it and make a probe time out.
      if (supervisor.cli.busySince !== undefined) return true;
      await supervisor.cli.ping();
      return true;
    },
    readiness,
    metrics: async () => {
      readiness();
      const counters = await readVarnishCounters(instanceDir, { varnishstat: config.varnishstat });
      return renderMetrics(metrics, counters);
    },
    drain,
    drainToken: config.drainToken,
  });
  const server = serveAdmin(handler, config.adminAddress);
  log.info("Chaperone started", {
    configMap: `${config.namespace}/${config.configmap}`,
    admin: `${config.adminAddress.hostname}:${config.adminAddress.port}`,
    listeners: config.listen.map((l) => l.name),
    tlsListeners: config.tlsListen.map((l) => l.name),
  });

  supervisor.start();
  poke();

  const signals = options.stopSignal ? undefined : signalPromise(log);
  const stopRequested = options.stopSignal ?? signals!.promise;
  const exit = (async () => {
    const outcome = await Promise.race([
      stopRequested.then(() => "stop" as const),
      supervisor.done.then((state) => state === "failed" ? "failed" as const : "stop" as const),
    ]);
    if (outcome === "stop") {
      drain();
      await drainDone;
    }
    await sync.stop();
    await tlsSecret?.stop();
    await tlsUpdates;
    await Promise.all([...hitches.values()].map((h) => h.stop()));
    await supervisor.stop();
    await configMap.stop();
    await endpoints.stop();
    await server.shutdown();
    if (!options.client) client.close();
    signals?.dispose();
    reaper?.stop();
    log.info("Chaperone stopped", { outcome });
    return outcome === "failed" ? 1 : 0;
  })();
  return { handler, supervisor, sync, hitches, metrics, exit };
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
