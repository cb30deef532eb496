/**
 * End to end clustered cache on the local cluster: a Gateway of three pods (chaperone, varnishd, ghost from the
 * gateway image) with `cache: { clustered: true }`, caching an echo origin. Each pod is asked directly (its IP, port
 * 80), and every request carries a fresh `X-Req` id that the origin echoes, so an answer tells which request it was
 * fetched for: the same id in the answers of all three pods means the origin was asked once.
 */
import { equal, ok } from "node:assert/strict";
import { getWithHost } from "../../chaperone/_test_varnish.ts";
import type { KubeClient } from "../../internal/kube/mod.ts";
import { clusterAvailable, eventually } from "../cluster/mod.ts";
import { apply, applyApp, echoApp, GW_API, prefix, startE2eGateway } from "./_e2e_gateway.ts";

const HOST = "shop.example.com";

let sequence = 0;

/** GET through one pod: the request's id and the id the origin saw for the answer. */
async function getFrom(ip: string, path: string): Promise<{ id: string; origin?: string }> {
  const id = `r${++sequence}`;
  const answer = await getWithHost(80, HOST, path, { address: ip, headers: { "X-Req": id } });
  const space = answer.indexOf(" ");
  equal(answer.slice(0, space), "200", `${ip} ${path}: ${answer.slice(0, 300)}`);
  const body = JSON.parse(answer.slice(space + 1)) as { headers?: Record<string, string[]> };
  return { id, origin: body.headers?.["X-Req"]?.[0] };
}

/**
 * Asks every pod for `path`, starting with pod `first`; returns how many answers were fetched for their own request
 * (origin fetches) and checks that all answers carry the same id.
 */
async function askAll(ips: string[], path: string, first: number): Promise<number> {
  const answers = [];
  for (let i = 0; i < ips.length; i++) answers.push(await getFrom(ips[(first + i) % ips.length], path));
  const fetched = answers.filter((a) => a.origin === a.id).length;
  const origins = new Set(answers.map((a) => a.origin));
  equal(origins.size, 1, `${path}: the pods answered with objects of ${origins.size} origin fetches`);
  return fetched;
}

/** The value of the series `name{labels}` in a Prometheus text, or 0. */
function metric(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** The sum of one series over the pods' `/metrics`. */
async function summed(ips: string[], series: string): Promise<number> {
  let total = 0;
  for (const ip of ips) {
    const response = await fetch(`http://${ip}:8901/metrics`, { signal: AbortSignal.timeout(5000) });
    total += metric(await response.text(), series);
  }
  return total;
}

/** The IPs of the Gateway's ready pods. */
async function readyPodIps(client: KubeClient, ns: string): Promise<string[]> {
  const list = await client.request<
    { items: { status: { podIP?: string; conditions?: { type: string; status: string }[] } }[] }
  >(`/api/v1/namespaces/${ns}/pods`, { query: { labelSelector: "gateway.networking.k8s.io/gateway-name=gw" } });
  return list.items
    .filter((p) => p.status.podIP && p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"))
    .map((p) => p.status.podIP!)
    .sort();
}

const HOP = 'lacquer_cluster_requests_total{result="hop"}';
const LOCAL = 'lacquer_cluster_requests_total{result="local"}';
const ACCEPTED = 'lacquer_cluster_peer_requests_total{result="accepted"}';

Deno.test({
  name: "clustered cache on 3 pods: one origin fetch per object from any pod, purges reach it, passes never hop",
  ignore: !clusterAvailable(),
  async fn() {
    await using gw = await startE2eGateway({
      parametersRef: "params",
      setup: async ({ client, name }) => {
        await applyApp(client, echoApp(name, "echo", 1));
        await apply(client, `/apis/lacquer.dev/v1alpha1/namespaces/${name}/gatewayparameters`, {
          apiVersion: "lacquer.dev/v1alpha1",
          kind: "GatewayParameters",
          metadata: { name: "params", namespace: name },
          spec: { replicas: 3, cache: { clustered: true }, service: { type: "LoadBalancer" } },
        });
      },
    });
    const { client } = gw;
    const ns = gw.ns.name;
    try {
      await apply(client, `${GW_API}/namespaces/${ns}/httproutes`, {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "HTTPRoute",
        metadata: { name: "shop", namespace: ns },
        spec: {
          parentRefs: [{ name: "gw" }],
          hostnames: [HOST],
          rules: [
            { name: "items", matches: prefix("/item"), backendRefs: [{ name: "echo", port: 8080 }] },
            { name: "live", matches: prefix("/live"), backendRefs: [{ name: "echo", port: 8080 }] },
          ],
        },
      });
      await apply(client, `/apis/lacquer.dev/v1alpha1/namespaces/${ns}/cachepolicies`, {
        apiVersion: "lacquer.dev/v1alpha1",
        kind: "CachePolicy",
        metadata: { name: "shop", namespace: ns },
        spec: {
          targetRefs: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", name: "shop", sectionName: "items" }],
          ttl: { forced: "1h", grace: "1h" },
        },
      });
      // Three ready pods that all list the three as peers: a fresh key is then fetched once, whichever pod is asked
      // first (each pod's peer list follows the Service's EndpointSlices, so it settles a little after readiness).
      let probe = 0;
      const ips = await eventually(async () => {
        const ready = await readyPodIps(client, ns);
        equal(ready.length, 3, "3 ready gateway pods");
        for (let first = 0; first < 3; first++) {
          for (let i = 0; i < 4; i++) equal(await askAll(ready, `/item/probe-${++probe}`, first), 1);
        }
        return ready;
      }, { timeoutMs: 180_000, intervalMs: 1000 });

      // 12 keys, each asked of every pod, a different pod first: 12 origin fetches, not 36.
      let fetched = 0;
      for (let i = 0; i < 12; i++) fetched += await askAll(ips, `/item/${i}`, i % 3);
      equal(fetched, 12, "one origin fetch per key");
      // And again: all cached, on whichever pod owns each key.
      for (let i = 0; i < 12; i++) equal(await askAll(ips, `/item/${i}`, (i + 1) % 3), 0, `/item/${i} cached`);
      // Each pod owns some keys (looked up locally) and hops for the others; each hop was accepted by an owner.
      for (const ip of ips) {
        ok(await summed([ip], LOCAL) > 0, `${ip} owns no key`);
        ok(await summed([ip], HOP) > 0, `${ip} never hopped`);
      }
      equal(await summed(ips, HOP), await summed(ips, ACCEPTED), "every hop was accepted by the key's owner");
      equal(await summed(ips, 'lacquer_cluster_requests_total{result="fallback"}'), 0, "no hop failed");

      // A hard purge through a CacheInvalidation reaches the one copy: every key is fetched once again.
      await client.request(`/apis/lacquer.dev/v1alpha1/namespaces/${ns}/cacheinvalidations`, {
        method: "POST",
        body: {
          apiVersion: "lacquer.dev/v1alpha1",
          kind: "CacheInvalidation",
          metadata: { name: "items" },
          spec: { hostname: HOST, prefixes: ["/item/"], mode: "Hard" },
        },
      });
      await eventually(async () => {
        const o = await client.request<{ status?: { phase?: string } }>(
          `/apis/lacquer.dev/v1alpha1/namespaces/${ns}/cacheinvalidations/items`,
        );
        equal(o.status?.phase, "Complete", JSON.stringify(o.status));
      }, { timeoutMs: 60_000, intervalMs: 200 });
      fetched = 0;
      for (let i = 0; i < 12; i++) fetched += await askAll(ips, `/item/${i}`, (i + 2) % 3);
      equal(fetched, 12, "after the purge, each key fetched again, once");

      // Requests of the uncached rule go to the origin from the pod that received them, never to a peer.
      const hops = await summed(ips, HOP);
      const accepted = await summed(ips, ACCEPTED);
      for (let i = 0; i < 12; i++) {
        const answer = await getFrom(ips[i % 3], `/live/${i % 4}`);
        equal(answer.origin, answer.id, "an uncached request is answered by the origin");
      }
      equal(await summed(ips, HOP), hops, "uncached requests never hop");
      equal(await summed(ips, ACCEPTED), accepted, "no pod received a hop for an uncached request");
    } catch (err) {
      console.error(await gw.readOperatorLog());
      throw err;
    }
  },
});
