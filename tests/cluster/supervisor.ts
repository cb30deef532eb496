/**
 * The cluster supervisor: runs inside the cluster's network namespace and owns everything in it. It sets up the
 * node network (loopback, the pod bridge), writes the PKI and kubeconfig, starts etcd, kube-apiserver and
 * kube-controller-manager, installs the Gateway API CRDs, and runs the node (containerd, kubelet, kube-proxy,
 * scheduler, CoreDNS) and the LoadBalancer address controller. It writes `ready.json` when the cluster can be used and tears everything down on SIGTERM or SIGINT.
 *
 * Usage (normally through `cluster.ts`): `deno run -A tests/cluster/supervisor.ts --name <name> [--root <dir>]
 * [--gateway-api-channel standard|experimental|none]`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createKubeClient, loadKubeCredentials } from "../../internal/kube/mod.ts";
import { createLogger } from "../../internal/log.ts";
import { type ControlPlane, startControlPlane } from "./control_plane.ts";
import { installCrds } from "./crd_installer.ts";
import {
  API_PORT,
  API_SERVICE_IP,
  BRIDGE,
  clusterBinaries,
  clusterLayout,
  lacquerCacheDir,
  NODE_IP,
  NODE_NAME,
  POD_CIDR,
} from "./layout.ts";
import { COREDNS_IMAGE, nodeImageArchives, PAUSE_IMAGE } from "./node/node_images.ts";
import { startRealNode } from "./node/real_node.ts";
import { startServiceController } from "./service_controller.ts";
import { kubeconfigYaml, writePki } from "./pki_writer.ts";
import { runCommand } from "./run_command.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    name: { type: "string", default: "lacquer" },
    root: { type: "string" },
    "gateway-api-channel": { type: "string", default: "standard" },
  },
});
const layout = clusterLayout(values.name!, { root: values.root });
const cache = lacquerCacheDir(Deno.env);
const bin = clusterBinaries(cache);
const log = createLogger({ fields: { component: "cluster", cluster: layout.name } });
const t0 = performance.now();

const stops: (() => Promise<void>)[] = [];
let stopping: Promise<void> | undefined;
function shutdown(code: number): Promise<void> {
  stopping ??= (async () => {
    log.info("Cluster stopping");
    await Deno.remove(layout.readyFile).catch(() => {});
    for (const stop of stops.reverse()) await stop().catch((err) => log.warn("Stop step failed", { err }));
    await Deno.remove(layout.pidFile).catch(() => {});
    log.info("Cluster stopped");
    Deno.exit(code);
  })();
  return stopping;
}
Deno.addSignalListener("SIGTERM", () => shutdown(0));
Deno.addSignalListener("SIGINT", () => shutdown(0));

try {
  const needed = [
    bin.etcd,
    bin.kubeApiserver,
    bin.kubeControllerManager,
    bin.kubelet,
    bin.kubeProxy,
    bin.kubeScheduler,
  ];
  for (const path of [...needed, bin.containerd, bin.ctr]) await Deno.stat(path);
  await Deno.mkdir(layout.logDir, { recursive: true });
  await Deno.writeTextFile(layout.pidFile, String(Deno.pid));
  await Deno.remove(`${layout.dir}/etcd`, { recursive: true }).catch(() => {});

  const ip = (...args: string[]) => runCommand("ip", { args });
  await ip("link", "set", "lo", "up");
  await runCommand("ip", { args: ["link", "add", BRIDGE, "type", "bridge"], allowFailure: true });
  await ip("addr", "replace", `${NODE_IP}/${POD_CIDR.split("/")[1]}`, "dev", BRIDGE);
  await ip("link", "set", BRIDGE, "up");

  const pki = await writePki(`${layout.dir}/pki`, {
    apiserverIps: [NODE_IP, "127.0.0.1", API_SERVICE_IP],
    kubeletIps: [NODE_IP, "127.0.0.1"],
    nodeName: NODE_NAME,
  });
  const ca = await Deno.readTextFile(pki.caCert);
  await Deno.writeTextFile(
    layout.kubeconfig,
    kubeconfigYaml({
      server: `https://${NODE_IP}:${API_PORT}`,
      ca,
      cert: await Deno.readTextFile(pki.adminCert),
      key: await Deno.readTextFile(pki.adminKey),
    }),
  );
  const client = createKubeClient(await loadKubeCredentials({ kubeconfig: layout.kubeconfig }));
  stops.push(() => Promise.resolve(client.close()));
  log.info("Cluster network and certificates ready", { durationMs: Math.round(performance.now() - t0) });

  // the node's container runtime starts (and imports its images) while the control plane does; its kubelet once the
  // API server is up
  const apiUp = Promise.withResolvers<void>();
  const nodeStarted = startRealNode({
    layout,
    binaries: bin,
    pki,
    client,
    log: log.child({ component: "node" }),
    imageArchives: await nodeImageArchives(cache),
    cache,
    pauseImage: PAUSE_IMAGE,
    corednsImage: COREDNS_IMAGE,
    apiReady: apiUp.promise,
  });
  // awaited below; until then a failure must not count as unhandled
  nodeStarted.catch(() => {});
  let cp: ControlPlane;
  try {
    cp = await startControlPlane({ layout, binaries: bin, pki, client, log });
  } catch (err) {
    apiUp.reject(err);
    await nodeStarted.catch(() => {});
    throw err;
  }
  stops.push(() => cp.stop());
  apiUp.resolve();

  const version = await client.request<{ gitVersion: string }>("/version");
  // a node that failed to start has stopped itself
  stops.push(async () => await (await nodeStarted.catch(() => undefined))?.stop());
  const channel = values["gateway-api-channel"];
  if (channel !== "none") {
    const names = await installCrds(client, { file: `${bin.crdDir}/${channel}.yaml` });
    log.info("Gateway API CRDs installed", { channel, crds: names.length });
  }
  await nodeStarted;
  const services = await startServiceController(client, { log: log.child({ component: "services" }) });
  stops.push(() => services.stop());

  // the default ServiceAccount exists once the controller manager works
  while (true) {
    const r = await client.fetch("/api/v1/namespaces/default/serviceaccounts/default");
    await r.body?.cancel();
    if (r.ok) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  const ready = {
    name: layout.name,
    netns: layout.netns,
    kubeconfig: layout.kubeconfig,
    server: `https://${NODE_IP}:${API_PORT}`,
    kubernetesVersion: version.gitVersion,
    gatewayApiChannel: channel,
    startedInMs: Math.round(performance.now() - t0),
  };
  await Deno.writeTextFile(layout.readyFile + ".tmp", JSON.stringify(ready, null, 2) + "\n");
  await Deno.rename(layout.readyFile + ".tmp", layout.readyFile);
  log.info("Cluster ready", { durationMs: ready.startedInMs, kubeconfig: layout.kubeconfig });
} catch (err) {
  log.error("Cluster start failed", { err });
  await shutdown(1);
}
