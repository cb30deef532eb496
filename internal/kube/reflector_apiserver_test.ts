// The reflector against the real API server of the local cluster (tests/cluster), through a TCP proxy that the
// test cuts to simulate a dropped connection and an unreachable server.
import { deepStrictEqual, ok } from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { clusterAvailable, createTestNamespace, eventually, useCluster } from "../../tests/cluster/mod.ts";
import { createKubeClient } from "./kube_client.ts";
import { loadKubeConfig } from "./kubeconfig.ts";
import { createReflector, type KubeObject } from "./reflector.ts";

/** A TCP proxy to the API server whose connections the test can cut. */
function cuttableProxy(target: { hostname: string; port: number }) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  let refusing = false;
  const pipes: Promise<void>[] = [];
  const accept = (async () => {
    for await (const conn of listener) {
      if (refusing) {
        conn.close();
        continue;
      }
      pipes.push((async () => {
        const up = await Deno.connect(target);
        conns.add(conn);
        conns.add(up);
        await Promise.all([
          conn.readable.pipeTo(up.writable).catch(() => {}),
          up.readable.pipeTo(conn.writable).catch(() => {}),
        ]);
        for (const c of [conn, up]) {
          conns.delete(c);
          try {
            c.close();
          } catch {
            // closed
          }
        }
      })());
    }
  })();
  const cut = () => {
    for (const c of conns) {
      try {
        c.close();
      } catch {
        // closed
      }
    }
    conns.clear();
  };
  return {
    port: (listener.addr as Deno.NetAddr).port,
    cut,
    refuse: (on: boolean) => refusing = on,
    async close() {
      listener.close();
      cut();
      await accept.catch(() => {});
      await Promise.allSettled(pipes);
    },
  };
}

Deno.test({
  name: "createReflector() follows a real API server and rewatches after the connection drops",
  ignore: !clusterAvailable(),
}, async () => {
  const cluster = await useCluster();
  await using ns = await createTestNamespace(cluster);
  const url = new URL(cluster.server);
  const proxy = cuttableProxy({ hostname: url.hostname, port: Number(url.port) });
  const base = loadKubeConfig({ kubeconfig: cluster.kubeconfig });
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ ...base.getCurrentCluster()!, server: `https://127.0.0.1:${proxy.port}` }],
    users: base.users,
    contexts: base.contexts,
    currentContext: base.currentContext,
  });
  const client = createKubeClient(kc);
  const cm = (name: string, v: string) => ({
    metadata: { name, labels: { test: "reflector" } },
    data: { v },
  });
  const post = (name: string, v: string) =>
    ns.client.request(`/api/v1/namespaces/${ns.name}/configmaps`, { method: "POST", body: cm(name, v) });
  // "before" exists before the reflector starts, so that its first list holds it (not a later watch event).
  await post("before", "1");
  const events: string[] = [];
  const reflector = createReflector<KubeObject & { data?: Record<string, string> }>(client, {
    path: `/api/v1/namespaces/${ns.name}/configmaps`,
    labelSelector: "test=reflector",
    backoff: { initialMs: 50, maxMs: 200 },
    onChange: (old, cur) => events.push(`${old ? (cur ? "update" : "delete") : "add"} ${(cur ?? old)!.metadata.name}`),
  });
  try {
    await reflector.synced;
    deepStrictEqual(reflector.list().map((o) => o.metadata.name), ["before"]);

    await post("during", "1");
    await eventually(() => ok(reflector.get(`${ns.name}/during`)));

    proxy.refuse(true);
    proxy.cut();
    await ns.client.request(`/api/v1/namespaces/${ns.name}/configmaps/before`, {
      method: "PATCH",
      contentType: "application/merge-patch+json",
      body: { data: { v: "2" } },
    });
    await ns.client.request(`/api/v1/namespaces/${ns.name}/configmaps/during`, { method: "DELETE" });
    await post("after", "1");
    await eventually(() => ok(reflector.stats().errors >= 1, "the cut was noticed"));
    proxy.refuse(false);

    await eventually(() => {
      deepStrictEqual(reflector.list().map((o) => o.metadata.name).sort(), ["after", "before"]);
      deepStrictEqual(reflector.get(`${ns.name}/before`)?.data, { v: "2" });
    });
    deepStrictEqual(events, ["add before", "add during", "update before", "delete during", "add after"]);
  } finally {
    await reflector.stop();
    client.close();
    await proxy.close();
  }
});
