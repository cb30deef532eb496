/**
 * End to end invalidation on the local cluster: a Gateway of three pods (chaperone, varnishd, ghost) caching an echo
 * origin, invalidated through CacheInvalidation objects and through the operator's HTTP API, each kind of target.
 * Every request carries a fresh `X-Req` id that the origin echoes, so an answer tells which request it was fetched
 * for: a cached answer carries an earlier id. Each pod is asked directly (its IP, port 80), so every pod's cache is
 * checked.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { getWithHost } from "../../chaperone/_test_varnish.ts";
import { deletePod, serviceAccountToken } from "../../operator/invalidation/_test_invalidation.ts";
import type { InvalidationStatus } from "../../operator/invalidation/mod.ts";
import { clusterAvailable, eventually, freePort, podNetnsPath, runCommand, useCluster } from "../cluster/mod.ts";
import { apply, applyApp, echoApp, GW_API, startE2eGateway } from "./_e2e_gateway.ts";

const HOST = "shop.example.com";

interface GatewayPod {
  name: string;
  uid: string;
  ip: string;
}

let sequence = 0;

/** GET through one pod; returns the request's id and the id the origin saw for the answer. */
async function getFrom(pod: GatewayPod, path: string, headers: Record<string, string> = {}) {
  const id = `r${++sequence}`;
  const answer = await getWithHost(80, HOST, path, { address: pod.ip, headers: { "X-Req": id, ...headers } });
  const space = answer.indexOf(" ");
  equal(answer.slice(0, space), "200", answer);
  const body = JSON.parse(answer.slice(space + 1)) as { headers?: Record<string, string[]> };
  return { id, req: body.headers?.["X-Req"]?.[0] };
}

/** Fills every pod's cache with `path` and checks the second GET is a hit. */
async function prime(pods: GatewayPod[], path: string, headers: Record<string, string> = {}): Promise<void> {
  for (const pod of pods) {
    const first = await getFrom(pod, path, headers);
    const second = await getFrom(pod, path, headers);
    equal(second.req, first.req, `${pod.name} ${path}: not cached`);
  }
}

/** Asserts that every pod fetches `path` again (hard invalidation) or still serves it from cache. */
async function expectFetched(pods: GatewayPod[], path: string, fetched: boolean): Promise<void> {
  for (const pod of pods) {
    const answer = await getFrom(pod, path);
    equal(answer.req === answer.id, fetched, `${pod.name} ${path}: ${fetched ? "still cached" : "fetched again"}`);
  }
}

Deno.test({
  name: "invalidation end to end: each kind through CacheInvalidation and HTTP on 3 pods; failures, catch-up, auth",
  ignore: !clusterAvailable(),
  async fn() {
    const apiPort = freePort();
    // the one end-to-end test of the operator as a process against the kubeconfig, the other way users run it
    await using gw = await startE2eGateway({
      operator: "process",
      invalidationPort: apiPort,
      setup: ({ client, name }) => applyApp(client, echoApp(name, "echo", 1)),
    });
    const { client } = gw;
    const ns = gw.ns.name;
    const cluster = await useCluster();
    try {
      await apply(client, `${GW_API}/namespaces/${ns}/httproutes`, {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "HTTPRoute",
        metadata: { name: "shop", namespace: ns },
        spec: {
          parentRefs: [{ name: "gw" }],
          hostnames: [HOST],
          rules: [{ backendRefs: [{ name: "echo", port: 8080 }] }],
        },
      });
      await apply(client, `/apis/lacquer.dev/v1alpha1/namespaces/${ns}/cachepolicies`, {
        apiVersion: "lacquer.dev/v1alpha1",
        kind: "CachePolicy",
        metadata: { name: "shop", namespace: ns },
        spec: {
          targetRefs: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", name: "shop" }],
          ttl: { forced: "1h", grace: "1h" },
        },
      });
      await client.request(`/apis/apps/v1/namespaces/${ns}/deployments/gw/scale`, {
        method: "PATCH",
        contentType: "application/merge-patch+json",
        body: { spec: { replicas: 3 } },
      });
      const pods = await eventually(async () => {
        const list = await client.request<
          {
            items: {
              metadata: { name: string; uid: string };
              status: { podIP?: string; conditions?: { type: string; status: string }[] };
            }[];
          }
        >(`/api/v1/namespaces/${ns}/pods`, { query: { labelSelector: "gateway.networking.k8s.io/gateway-name=gw" } });
        const ready = list.items.filter((p) =>
          p.status.podIP && p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True")
        );
        equal(ready.length, 3, "3 ready gateway pods");
        const out = ready.map((p) => ({ name: p.metadata.name, uid: p.metadata.uid, ip: p.status.podIP! }));
        // every pod serves the route, cached
        for (const pod of out) await prime([pod], "/ready");
        return out.sort((a, b) => a.name.localeCompare(b.name));
      }, { timeoutMs: 120_000, intervalMs: 500 });

      const create = async (name: string, spec: Record<string, unknown>) => {
        await client.request(`/apis/lacquer.dev/v1alpha1/namespaces/${ns}/cacheinvalidations`, {
          method: "POST",
          body: { apiVersion: "lacquer.dev/v1alpha1", kind: "CacheInvalidation", metadata: { name }, spec },
        });
      };
      const phaseOf = (name: string, phase: string) =>
        eventually(async () => {
          const o = await client.request<{ status?: InvalidationStatus }>(
            `/apis/lacquer.dev/v1alpha1/namespaces/${ns}/cacheinvalidations/${name}`,
          );
          equal(o.status?.phase, phase, JSON.stringify(o.status));
          return o.status!;
        }, { timeoutMs: 60_000, intervalMs: 200 });

      // Through the resource, each kind, hard: the targets are fetched again on every pod, the rest stays cached.
      await prime(pods, "/u/1?v=a");
      await prime(pods, "/u/1?v=b");
      await prime(pods, "/u/2");
      await create("url", { hostname: HOST, urls: ["/u/1"], mode: "Hard" });
      const url = await phaseOf("url", "Complete");
      deepEqual([url.total, url.succeeded], [3, 3]);
      await expectFetched(pods, "/u/1?v=a", true);
      await expectFetched(pods, "/u/1?v=b", true);
      await expectFetched(pods, "/u/2", false);

      await prime(pods, "/p/x");
      await prime(pods, "/q/x");
      await create("prefix", { hostname: HOST, prefixes: ["/p/"], mode: "Hard" });
      await phaseOf("prefix", "Complete");
      await expectFetched(pods, "/p/x", true);
      await expectFetched(pods, "/q/x", false);

      await prime(pods, "/t/1", { "X-Echo-Set-Header": "Surrogate-Key: k1 common" });
      await prime(pods, "/t/2", { "X-Echo-Set-Header": "Surrogate-Key: k2" });
      await create("tag", { hostname: HOST, tags: ["k1"], mode: "Hard" });
      await phaseOf("tag", "Complete");
      await expectFetched(pods, "/t/1", true);
      await expectFetched(pods, "/t/2", false);

      await prime(pods, "/a/1");
      await create("all", { hostname: HOST, all: true, mode: "Hard" });
      await phaseOf("all", "Complete");
      await expectFetched(pods, "/a/1", true);
      await expectFetched(pods, "/q/x", true);

      // Through the HTTP API.
      const token = await serviceAccountToken(client, ns, "publisher", true);
      const stranger = await serviceAccountToken(client, ns, "stranger", false);
      const purge = async (path: string, headers: Record<string, string>) => {
        const answer = await getWithHost(apiPort, HOST, path, { method: "PURGE", headers });
        const space = answer.indexOf(" ");
        return { status: Number(answer.slice(0, space)), body: JSON.parse(answer.slice(space + 1)) };
      };
      const post = async (body: unknown, bearer = token) => {
        const r = await fetch(`http://127.0.0.1:${apiPort}/invalidate`, {
          method: "POST",
          headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        return { status: r.status, body: await r.json() };
      };
      const auth = { authorization: `Bearer ${token}` };
      equal((await purge("/u/2", {})).status, 401);
      equal((await purge("/u/2", { authorization: "Bearer wrong" })).status, 401);
      equal((await purge("/u/2", { authorization: `Bearer ${stranger}` })).status, 403);
      equal((await purge("/u/2?x=1", auth)).status, 400);
      equal((await post({ hostname: HOST, tags: ["bad key"] })).status, 400);

      await prime(pods, "/h/1");
      const purged = await purge("/h/1", { ...auth, "Lacquer-Purge-Mode": "hard" });
      equal(purged.status, 200, JSON.stringify(purged.body));
      deepEqual([purged.body.status, purged.body.total, purged.body.succeeded], ["ok", 3, 3]);
      await expectFetched(pods, "/h/1", true);
      await prime(pods, "/hp/1");
      equal((await post({ hostname: HOST, prefixes: ["/hp/"], mode: "hard" })).status, 200);
      await expectFetched(pods, "/hp/1", true);
      await prime(pods, "/ht/1", { "X-Echo-Set-Header": "Surrogate-Key: hk" });
      equal((await post({ hostname: HOST, tags: ["hk"], mode: "hard" })).status, 200);
      await expectFetched(pods, "/ht/1", true);
      await prime(pods, "/ha/1");
      equal((await post({ hostname: HOST, all: true, mode: "hard" })).status, 200);
      await expectFetched(pods, "/ha/1", true);

      // Soft (the default): the stale object is served once while one fetch refreshes it, then the fresh one.
      await prime(pods, "/s/1");
      const cachedId = (await getFrom(pods[0], "/s/1")).req;
      equal((await post({ hostname: HOST, urls: ["/s/1"] })).status, 200);
      const stale = await getFrom(pods[0], "/s/1");
      equal(stale.req, cachedId, "soft: the stale object is served");
      await eventually(async () => equal((await getFrom(pods[0], "/s/1")).req, stale.id), { timeoutMs: 5_000 });

      // A pod that cannot be reached during a fan-out: 207 naming it; the resource waits for it and catches up.
      const link = async (pod: GatewayPod, state: "up" | "down") =>
        await runCommand("nsenter", {
          args: [`--net=${await podNetnsPath(cluster, pod.uid)}`, "ip", "link", "set", "eth0", state],
        });
      const [, second, third] = pods;
      await prime(pods, "/f/1");
      await link(third, "down");
      try {
        const partial = await post({ hostname: HOST, urls: ["/f/1"], mode: "hard" });
        equal(partial.status, 207, JSON.stringify(partial.body));
        const failed = partial.body.results.filter((r: { result: string }) => r.result === "failed");
        deepEqual(failed.map((r: { pod: string }) => r.pod), [`${ns}/${third.name}`]);
        await create("catch-up", { hostname: HOST, urls: ["/f/1"], mode: "Hard" });
        const running = await phaseOf("catch-up", "Running");
        equal(running.pods.find((p) => p.pod === `${ns}/${third.name}`)?.result, "Failed");
      } finally {
        await link(third, "up");
      }
      const caughtUp = await phaseOf("catch-up", "Complete");
      deepEqual(caughtUp.pods.map((p) => p.result), ["Succeeded", "Succeeded", "Succeeded"]);
      await expectFetched([third], "/f/1", true);

      // A pod killed while it is being retried counts as done.
      await link(second, "down");
      await create("killed", { hostname: HOST, all: true });
      await phaseOf("killed", "Running");
      await deletePod(client, ns, second.name);
      const killed = await phaseOf("killed", "Complete");
      equal(killed.pods.find((p) => p.pod === `${ns}/${second.name}`)?.result, "Gone");
      ok(killed.pods.filter((p) => p.result === "Succeeded").length === 2);
    } catch (err) {
      console.error(await gw.readOperatorLog());
      throw err;
    }
  },
});
