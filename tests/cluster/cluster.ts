/**
 * `deno task cluster <command>`: the local cluster from a normal shell.
 *
 * - `up [--gateway-api-channel standard|experimental|none]`: starts the cluster `lacquer` (its node: containerd,
 *   kubelet, kube-proxy, scheduler, CoreDNS) in the network namespace `lacquer` and prints how to reach it;
 * - `down`: stops it and removes every process, namespace and file it made;
 * - `status`: tells whether it runs;
 * - `kubectl ARGS...`, `curl ARGS...`: run inside the namespace with the cluster's kubeconfig;
 * - `exec CMD ARGS...`: any command inside the namespace (e.g. `exec bash`).
 *
 * @module
 */
import { clusterBinaries, clusterLayout, lacquerCacheDir } from "./layout.ts";
import { createClusterNetns, launchSupervisor, stopCluster, supervisorPid, waitForCluster } from "./cluster_control.ts";

const layout = clusterLayout(Deno.env.get("LACQUER_CLUSTER") ?? "lacquer");
const cache = lacquerCacheDir(Deno.env);
const bin = clusterBinaries(cache);
const [command, ...rest] = Deno.args;

async function inNetns(program: string, args: string[]): Promise<number> {
  const child = new Deno.Command("nsenter", {
    args: [`--net=/run/netns/${layout.netns}`, "--", program, ...args],
    env: { KUBECONFIG: layout.kubeconfig, PATH: `${cache}/bin:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}` },
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  return (await child.status).code;
}

async function main(): Promise<number> {
  switch (command) {
    case "up": {
      if (await supervisorPid(layout) !== undefined) {
        console.log(`cluster "${layout.name}" is already running`);
        return 0;
      }
      const channelIndex = rest.indexOf("--gateway-api-channel");
      const channel = channelIndex >= 0 ? rest[channelIndex + 1] : "standard";
      await stopCluster(layout);
      await createClusterNetns(layout);
      const t0 = performance.now();
      console.error(`starting cluster "${layout.name}" (logs in ${layout.logDir})...`);
      await launchSupervisor(layout, { gatewayApiChannel: channel });
      const info = await waitForCluster(layout);
      const ns = `nsenter --net=/run/netns/${layout.netns} --`;
      console.log(
        `cluster "${info.name}" is up in ${Math.round(performance.now() - t0)} ms (${info.kubernetesVersion})
  kubeconfig:   ${info.kubeconfig}   (reachable inside the network namespace "${info.netns}" only)
  kubectl:      deno task cluster kubectl get pods -A
                ${ns} ${bin.kubectl} --kubeconfig ${info.kubeconfig} get pods -A
  curl:         deno task cluster curl -s http://<pod or LoadBalancer IP>:<port>/
  a shell:      deno task cluster exec bash     (KUBECONFIG set, kubectl on PATH)
  logs:         ${layout.logDir}/
  stop:         deno task cluster down`,
      );
      return 0;
    }
    case "down":
      await stopCluster(layout);
      console.log(`cluster "${layout.name}" is down`);
      return 0;
    case "status": {
      const pid = await supervisorPid(layout);
      const ready = await Deno.readTextFile(layout.readyFile).catch(() => undefined);
      if (pid === undefined) {
        console.log(`cluster "${layout.name}" is not running`);
        return 1;
      }
      console.log(ready ? `cluster "${layout.name}" is running (pid ${pid})\n${ready}` : `starting (pid ${pid})`);
      return 0;
    }
    case "kubectl":
      return await inNetns(bin.kubectl, rest);
    case "curl":
      return await inNetns("curl", rest);
    case "exec":
      if (rest.length === 0) return await inNetns("bash", []);
      return await inNetns(rest[0], rest.slice(1));
    default:
      console.error(
        "usage: deno task cluster up|down|status|kubectl ARGS|curl ARGS|exec CMD ARGS",
      );
      return 2;
  }
}

Deno.exit(await main());
