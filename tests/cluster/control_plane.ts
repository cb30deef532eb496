/**
 * Starts and stops the real control plane: etcd, kube-apiserver, kube-controller-manager and kube-scheduler, each a
 * child process logging to `<logDir>/<name>.log`.
 *
 * @module
 */
import type { Logger } from "../../internal/log.ts";
import type { KubeClient } from "../../internal/kube/mod.ts";
import { API_PORT, type ClusterBinaries, type ClusterLayout, NODE_IP, SERVICE_CIDR } from "./layout.ts";
import { kubeconfigYaml, type Pki } from "./pki_writer.ts";
import { spawnRestarting } from "./restarting_process.ts";
import { type LoggedProcess, spawnLogged } from "./spawn_logged.ts";

/**
 * The controllers kube-controller-manager runs in the local cluster. The node lifecycle controller removes the
 * `not-ready` taint the kubelet registers its Node with.
 */
export const CONTROLLERS = [
  "deployment-controller",
  "replicaset-controller",
  "endpointslice-controller",
  "endpointslice-mirroring-controller",
  "serviceaccount-controller",
  "serviceaccount-token-controller",
  "root-ca-certificate-publisher-controller",
  "namespace-controller",
  "garbage-collector-controller",
  "job-controller",
  "statefulset-controller",
  "daemonset-controller",
  "clusterrole-aggregation-controller",
  // PodDisruptionBudget status: without it the Eviction API refuses every pod a budget covers
  "disruption-controller",
  "node-lifecycle-controller",
] as const;

/** The running control plane. */
export interface ControlPlane {
  /** Stops the scheduler, the controller manager, the API server and etcd, in that order. */
  stop(): Promise<void>;
}

/** Options for {@linkcode startControlPlane}. */
export interface StartControlPlaneOptions {
  layout: ClusterLayout;
  binaries: ClusterBinaries;
  pki: Pki;
  /** A client with admin credentials, used to wait for readiness. */
  client: KubeClient;
  log: Logger;
}

/**
 * Polls `check` until it returns true (errors count as false).
 *
 * @param what What is starting, for the error message.
 * @param check The readiness check.
 * @param timeoutMs How long to wait.
 * @param proc The process that must not exit meanwhile.
 * @throws {Error} When the process exits or the timeout passes.
 */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  proc?: LoggedProcess,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let exited = false;
  proc?.status.then(() => exited = true);
  while (performance.now() < deadline) {
    if (exited) throw new Error(`Cannot start ${what}: the process exited (see its log)`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Cannot start ${what}: not ready after ${timeoutMs} ms`);
}

/**
 * Starts etcd, the API server, the controller manager and the scheduler and waits until the API server is ready.
 *
 * @param options Layout, binaries, PKI, a client and a logger.
 * @returns The handle.
 */
export async function startControlPlane(options: StartControlPlaneOptions): Promise<ControlPlane> {
  const { layout, binaries: bin, pki, client, log } = options;
  const procs: Pick<LoggedProcess, "stop">[] = [];
  const stop = async () => {
    for (const p of procs.reverse()) await p.stop(5000);
  };
  try {
    const t0 = performance.now();
    const etcd = spawnLogged(bin.etcd, {
      logFile: `${layout.logDir}/etcd.log`,
      args: [
        "--name=lacquer",
        `--data-dir=${layout.dir}/etcd`,
        "--listen-client-urls=http://127.0.0.1:2379",
        "--advertise-client-urls=http://127.0.0.1:2379",
        "--listen-peer-urls=http://127.0.0.1:2380",
        "--initial-advertise-peer-urls=http://127.0.0.1:2380",
        "--initial-cluster=lacquer=http://127.0.0.1:2380",
        "--listen-metrics-urls=http://127.0.0.1:2381",
        "--unsafe-no-fsync",
        // room for the operator bench's 1 GB of unrelated objects and their history (the default quota is 2 GiB)
        "--quota-backend-bytes=8589934592",
        "--log-level=warn",
      ],
    });
    procs.push(etcd);
    await waitFor("etcd", async () => (await fetch("http://127.0.0.1:2381/health")).ok, 20_000, etcd);
    log.info("etcd ready", { durationMs: Math.round(performance.now() - t0) });

    const apiserver = spawnLogged(bin.kubeApiserver, {
      logFile: `${layout.logDir}/kube-apiserver.log`,
      args: [
        "--etcd-servers=http://127.0.0.1:2379",
        `--advertise-address=${NODE_IP}`,
        "--bind-address=0.0.0.0",
        `--secure-port=${API_PORT}`,
        `--cert-dir=${layout.dir}/apiserver-certs`,
        `--tls-cert-file=${pki.apiserverCert}`,
        `--tls-private-key-file=${pki.apiserverKey}`,
        `--client-ca-file=${pki.caCert}`,
        `--kubelet-client-certificate=${pki.kubeletClientCert}`,
        `--kubelet-client-key=${pki.kubeletClientKey}`,
        `--kubelet-certificate-authority=${pki.caCert}`,
        "--kubelet-preferred-address-types=InternalIP",
        `--service-account-issuer=https://kubernetes.default.svc.cluster.local`,
        `--service-account-key-file=${pki.serviceAccountPub}`,
        `--service-account-signing-key-file=${pki.serviceAccountKey}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        // the real node's kubelet authenticates as system:node:<name>: the Node authorizer and admission know it
        "--authorization-mode=Node,RBAC",
        "--enable-admission-plugins=NodeRestriction",
        "--allow-privileged=true",
        "--enable-priority-and-fairness=false",
        "--profiling=false",
        "--v=1",
      ],
    });
    procs.push(apiserver);
    await waitFor(
      "kube-apiserver",
      async () => {
        const r = await client.fetch("/readyz");
        await r.body?.cancel();
        return r.ok;
      },
      60_000,
      apiserver,
    );
    log.info("kube-apiserver ready", { durationMs: Math.round(performance.now() - t0) });

    const kcmConfig = `${layout.dir}/controller-manager.kubeconfig`;
    await Deno.writeTextFile(
      kcmConfig,
      kubeconfigYaml({
        server: `https://${NODE_IP}:${API_PORT}`,
        ca: await Deno.readTextFile(pki.caCert),
        cert: await Deno.readTextFile(pki.controllerManagerCert),
        key: await Deno.readTextFile(pki.controllerManagerKey),
        user: "controller-manager",
      }),
    );
    // With leader election, as production control planes run it: an API server away for longer than the renew
    // deadline makes it exit, and the restart starts the node lifecycle controller afresh, giving every node a
    // whole grace period again. Without it, the controller would count the outage against the nodes' heartbeats and
    // mark them NotReady, with all their pods, a few seconds after the API server returned.
    const kcm = spawnRestarting(bin.kubeControllerManager, {
      name: "kube-controller-manager",
      log,
      logFile: `${layout.logDir}/kube-controller-manager.log`,
      args: [
        `--kubeconfig=${kcmConfig}`,
        `--authentication-kubeconfig=${kcmConfig}`,
        `--authorization-kubeconfig=${kcmConfig}`,
        "--bind-address=127.0.0.1",
        `--controllers=${CONTROLLERS.join(",")}`,
        `--service-account-private-key-file=${pki.serviceAccountKey}`,
        `--root-ca-file=${pki.caCert}`,
        "--use-service-account-credentials=false",
        "--leader-elect=true",
        "--concurrent-deployment-syncs=10",
        "--concurrent-replicaset-syncs=10",
        "--concurrent-service-endpoint-syncs=10",
        "--endpointslice-updates-batch-period=0s",
        "--profiling=false",
        "--v=1",
      ],
    });
    procs.push(kcm);

    const schedulerConfig = `${layout.dir}/scheduler.kubeconfig`;
    await Deno.writeTextFile(
      schedulerConfig,
      kubeconfigYaml({
        server: `https://${NODE_IP}:${API_PORT}`,
        ca: await Deno.readTextFile(pki.caCert),
        cert: await Deno.readTextFile(pki.schedulerCert),
        key: await Deno.readTextFile(pki.schedulerKey),
        user: "scheduler",
      }),
    );
    // Leader election too, for the same reason: production schedulers run with it, exit when they cannot renew
    // their lease, and start afresh.
    const scheduler = spawnRestarting(bin.kubeScheduler, {
      name: "kube-scheduler",
      log,
      logFile: `${layout.logDir}/kube-scheduler.log`,
      args: [
        `--kubeconfig=${schedulerConfig}`,
        `--authentication-kubeconfig=${schedulerConfig}`,
        `--authorization-kubeconfig=${schedulerConfig}`,
        "--bind-address=127.0.0.1",
        "--leader-elect=true",
        "--profiling=false",
        "--v=1",
      ],
    });
    procs.push(scheduler);
    return { stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
