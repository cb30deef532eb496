/**
 * End to end on the local cluster: a rule mirrored to a mirror that never accepts a connection (its endpoint is an
 * address on the pod network that nobody holds, so each copy waits out the connect timeout) serves every request
 * under load as quickly as ever, and the gateway pod counts the copies it drops, through gateway pods running the
 * real chaperone, varnishd and ghost.
 */
import { equal, ok } from "node:assert/strict";
import { clusterAvailable, eventually } from "../cluster/mod.ts";
import { apply, applyApp, echoApp, get, podOf, prefix, route, startE2eGateway } from "./_e2e_gateway.ts";

// On the cluster's pod network (10.244.0.0/16 on one bridge) and far above the addresses pods get: nobody answers
// its ARP requests, so a connection to it neither succeeds nor is refused.
const BLACKHOLE = "10.244.250.250";

/** The value of the series `name{labels}` in a Prometheus text, or 0. */
function metric(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

Deno.test({
  name: "a mirror that never answers neither slows nor fails the mirrored route under load, and its drops are counted",
  ignore: !clusterAvailable(),
}, async (t) => {
  await using gw = await startE2eGateway({
    setup: async ({ client, name }) => {
      await applyApp(client, echoApp(name, "web", 1));
      await apply(client, `/api/v1/namespaces/${name}/services`, {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "blackhole", namespace: name },
        spec: { ports: [{ name: "http", port: 8080 }] },
      });
      await apply(client, `/apis/discovery.k8s.io/v1/namespaces/${name}/endpointslices`, {
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: { name: "blackhole-manual", namespace: name, labels: { "kubernetes.io/service-name": "blackhole" } },
        addressType: "IPv4",
        ports: [{ name: "http", port: 3000, protocol: "TCP" }],
        endpoints: [{ addresses: [BLACKHOLE], conditions: { ready: true } }],
      });
    },
  });
  const { client, address } = gw;
  const ns = gw.ns.name;
  const metrics = async () => {
    const pods = await client.request<{ items: { status?: { podIP?: string } }[] }>(`/api/v1/namespaces/${ns}/pods`, {
      query: { labelSelector: `gateway.networking.k8s.io/gateway-name=${gw.gateway}` },
    });
    const ip = pods.items[0]?.status?.podIP;
    ok(ip, "the gateway pod has an address");
    const response = await fetch(`http://${ip}:8901/metrics`, { signal: AbortSignal.timeout(5000) });
    return await response.text();
  };
  try {
    await apply(
      client,
      `/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/httproutes`,
      route(ns, "mirrored", [{
        matches: prefix("/mirrored"),
        filters: [{ type: "RequestMirror", requestMirror: { backendRef: { name: "blackhole", port: 8080 } } }],
        backendRefs: [{ name: "web", port: 8080 }],
      }]),
    );
    await eventually(async () => {
      equal((await get(address, "/mirrored")).status, 200);
      ok(metric(await metrics(), 'lacquer_mirror_requests_total{result="failed"}') > 0, "no copy has failed yet");
    }, { timeoutMs: 60_000 });

    await t.step("under load every request is answered at once while copies are dropped", async () => {
      // 16 loops, one request after the other, until the gateway has dropped copies (1,024 wait, 8 senders each
      // spend the 1 s connect timeout on one copy), then a while longer.
      const latencies: number[] = [];
      const failures: string[] = [];
      let dropped = 0;
      let stopped = false;
      const worker = async () => {
        while (!stopped) {
          const started = performance.now();
          try {
            const { status, body } = await get(address, "/mirrored");
            if (status !== 200 || !podOf(body)?.startsWith("web-")) {
              failures.push(`HTTP ${status}: ${body.slice(0, 120)}`);
            }
          } catch (err) {
            failures.push(String(err));
          }
          latencies.push(performance.now() - started);
        }
      };
      const running = Array.from({ length: 16 }, worker);
      try {
        await eventually(async () => {
          dropped = metric(await metrics(), 'lacquer_mirror_requests_total{result="dropped_queue_full"}');
          ok(dropped > 0, `no copy dropped after ${latencies.length} requests`);
        }, { timeoutMs: 120_000, intervalMs: 1000 });
        await new Promise((resolve) => setTimeout(resolve, 3000));
      } finally {
        stopped = true;
        await Promise.all(running);
      }
      equal(failures.length, 0, `failures: ${failures.slice(0, 5).join("; ")}`);
      const sorted = latencies.toSorted((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)];
      // A request that waited for its copy would take the mirror's 1 s connect timeout, every one of them.
      ok(median < 500, `median ${median.toFixed(0)} ms over ${sorted.length} requests`);
      console.log(
        `mirror load: ${sorted.length} requests, median ${median.toFixed(0)} ms, p99 ${
          sorted[Math.floor(sorted.length * 0.99)].toFixed(0)
        } ms, ${dropped} copies dropped (queue full)`,
      );
    });
  } catch (err) {
    console.error(await gw.readOperatorLog());
    throw err;
  }
});
