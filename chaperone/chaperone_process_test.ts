/**
 * `lacquer chaperone` as a real process: PID 1 of its own PID namespace, configured through the environment only,
 * as the operator's Deployment does it.
 *
 * @module
 */
import { equal, ok } from "node:assert/strict";
import { MAIN_VCL_KEY, ROUTING_JSON_KEY } from "../internal/names.ts";
import { clusterAvailable, createTestNamespace, useCluster } from "../tests/cluster/mod.ts";
import { eventually } from "../tests/cluster/eventually.ts";
import { freePort } from "./_test_varnish.ts";

const VCL = `vcl 4.1;
backend default none;
sub vcl_recv {
  if (local.socket == "ghost") {
    return (synth(200, "reloaded"));
  }
  return (synth(200, "pid1"));
}
`;

function processes(): { pid: number; ppid: number; name: string; state: string }[] {
  const out = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const status = Deno.readTextFileSync(`/proc/${entry.name}/status`);
      const field = (name: string) => new RegExp(`^${name}:\\s+(.*)$`, "m").exec(status)?.[1] ?? "";
      out.push({ pid: Number(entry.name), ppid: Number(field("PPid")), name: field("Name"), state: field("State") });
    } catch {
      // The process is gone.
    }
  }
  return out;
}

Deno.test({
  name: "lacquer chaperone as PID 1: env configuration, restarts varnishd, reaps orphans, exits 0 on SIGTERM",
  ignore: !clusterAvailable(),
}, async () => {
  const cluster = await useCluster();
  await using ns = await createTestNamespace(cluster);
  const routing = JSON.stringify({
    version: 1,
    vhosts: {
      "*": {
        routes: [{
          id: { namespace: ns.name, name: "r", rule: 0 },
          created: "2026-01-01T00:00:00Z",
          listeners: ["http"],
          backends: [{ weight: 1, service: { namespace: ns.name, name: "svc", port: 80 } }],
        }],
      },
    },
  });
  await ns.client.request(`/api/v1/namespaces/${ns.name}/configmaps`, {
    method: "POST",
    body: { metadata: { name: "gw-lacquer" }, data: { [MAIN_VCL_KEY]: VCL, [ROUTING_JSON_KEY]: routing } },
  });
  const workDir = await Deno.makeTempDir({ prefix: "lacquer-pid1-" });
  const httpPort = freePort();
  const adminPort = freePort();
  const child = new Deno.Command("unshare", {
    args: [
      "--pid",
      "--fork",
      "--kill-child",
      Deno.execPath(),
      "run",
      "-A",
      new URL("../mod.ts", import.meta.url).pathname,
      "chaperone",
    ],
    env: {
      POD_NAMESPACE: ns.name,
      LACQUER_CONFIGMAP: "gw-lacquer",
      LACQUER_LISTEN: `port-http=127.0.0.1:${httpPort}`,
      LACQUER_STORAGE: "malloc,32m",
      LACQUER_WORK_DIR: workDir,
      LACQUER_ADMIN_ADDRESS: `127.0.0.1:${adminPort}`,
      LACQUER_CLI_PORT: String(freePort()),
      LACQUER_GHOST_PORT: String(freePort()),
      LACQUER_DRAIN_SECONDS: "1",
      KUBECONFIG: cluster.kubeconfig,
    },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  const reading = (async () => {
    for (;;) {
      const { value, done } = await stderr.read();
      if (done) break;
      log += value;
    }
  })();
  const admin = async (path: string) => {
    const response = await fetch(`http://127.0.0.1:${adminPort}${path}`);
    await response.body?.cancel();
    return response.status;
  };
  try {
    await eventually(async () => equal(await admin("/readyz"), 200), { timeoutMs: 60_000 });
    const response = await fetch(`http://127.0.0.1:${httpPort}/`);
    ok((await response.text()).includes("pid1"));
    // The chaperone is the only child of unshare; varnishd is its child.
    const chaperone = processes().find((p) => p.ppid === child.pid);
    ok(chaperone, "the chaperone process is running");
    const varnishd = processes().find((p) => p.ppid === chaperone.pid && p.name === "varnishd");
    ok(varnishd, "varnishd runs under the chaperone");
    Deno.kill(varnishd.pid, "SIGKILL");
    await eventually(async () => {
      const next = processes().find((p) => p.ppid === chaperone.pid && p.name === "varnishd" && p.state[0] !== "Z");
      ok(next && next.pid !== varnishd.pid, "a new varnishd runs");
      equal(await admin("/readyz"), 200);
      // The killed manager's cache child was re-parented to the chaperone (PID 1) and reaped.
      equal(processes().filter((p) => p.ppid === chaperone.pid && p.state.startsWith("Z")).length, 0);
    }, { timeoutMs: 60_000 });
    Deno.kill(chaperone.pid, "SIGTERM");
    const status = await child.status;
    equal(status.code, 0, log.slice(-3000));
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // Exited.
    }
    await child.status;
    await reading;
    await Deno.remove(workDir, { recursive: true });
  }
});
