/**
 * `lacquer operator` start-up against an API server that is not there yet: it must wait (health served, no crash)
 * and start working once the API server answers. The API server sits behind a TCP proxy that refuses connections
 * until the test opens it.
 */
import { equal, ok } from "node:assert/strict";
import type { KubeObject } from "../internal/kube/mod.ts";
import {
  clusterAvailable,
  createTestNamespace,
  eventually,
  freePort,
  PAUSE_IMAGE,
  useCluster,
} from "../tests/cluster/mod.ts";
import { startOperatorProcess } from "../tests/stack/operator_process.ts";
import { createGatewayClass, GW } from "./_test_operator.ts";

/** A TCP proxy to `target`, listening on `port` only once {@linkcode open} is called. */
function closedProxy(port: number, target: { hostname: string; port: number }) {
  let listener: Deno.TcpListener | undefined;
  const conns = new Set<Deno.TcpConn>();
  const pipes: Promise<unknown>[] = [];
  let accepting: Promise<void> | undefined;
  return {
    open() {
      listener = Deno.listen({ hostname: "127.0.0.1", port });
      accepting = (async () => {
        for await (const conn of listener!) {
          const upstream = await Deno.connect(target).catch(() => undefined);
          if (!upstream) {
            conn.close();
            continue;
          }
          conns.add(conn).add(upstream);
          pipes.push(conn.readable.pipeTo(upstream.writable).catch(() => {}));
          pipes.push(upstream.readable.pipeTo(conn.writable).catch(() => {}));
        }
      })().catch(() => {});
    },
    async close() {
      listener?.close();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // already closed by its pipe
        }
      }
      await accepting;
      await Promise.all(pipes);
    },
  };
}

Deno.test({
  name: "operator started while the API server is unreachable waits with back-off, then runs once it answers",
  ignore: !clusterAvailable(),
  async fn() {
    const cluster = await useCluster();
    await using ns = await createTestNamespace(cluster);
    const cls = `lacquer-${ns.name}`;
    await createGatewayClass(ns.client, cls);
    const proxyPort = freePort();
    const server = new URL(cluster.server);
    const proxy = closedProxy(proxyPort, { hostname: server.hostname, port: Number(server.port) });
    const kubeconfig = await Deno.makeTempFile({ prefix: "kubeconfig-" });
    const logFile = await Deno.makeTempFile({ prefix: "operator-", suffix: ".log" });
    await Deno.writeTextFile(
      kubeconfig,
      (await Deno.readTextFile(cluster.kubeconfig)).replace(/server: \S+/, `server: https://127.0.0.1:${proxyPort}`),
    );
    const port = freePort(2); // metrics, and health on port + 1
    const operator = startOperatorProcess({
      kubeconfig,
      logFile,
      port,
      args: ["--gateway-image", PAUSE_IMAGE, "--gateway-class", cls],
    });
    let failed = true;
    try {
      const exited = operator.status.then((s) => s.code);
      await eventually(async () => {
        const retries = (await Deno.readTextFile(logFile)).split("\n")
          .filter((l) => l.includes("API server unreachable, retrying")).length;
        ok(retries >= 2, `retries logged: ${retries}`);
      }, { timeoutMs: 20_000 });
      equal(
        await Promise.race([exited, Promise.resolve("running")]),
        "running",
        "the operator waits, it does not exit",
      );
      const health = await fetch(`http://127.0.0.1:${port + 1}/healthz`);
      equal(health.status, 200, "liveness is served while waiting");
      await health.body?.cancel();

      proxy.open();
      await eventually(async () => {
        const c = await ns.client.request<KubeObject>(`${GW}/gatewayclasses/${cls}`);
        const conditions = (c.status as { conditions?: { type: string; status: string }[] }).conditions ?? [];
        equal(conditions.find((x) => x.type === "Accepted")?.status, "True");
      }, { timeoutMs: 60_000 });
      failed = false;
    } finally {
      const status = await operator.stop(30_000);
      await proxy.close();
      if (failed || status.code !== 0) console.error(await Deno.readTextFile(logFile));
      await Deno.remove(logFile);
      await Deno.remove(kubeconfig);
      await ns.client.request(`${GW}/gatewayclasses/${cls}`, { method: "DELETE" }).catch(() => {});
      equal(status.code, 0, "operator exits 0 on SIGTERM");
    }
  },
});
