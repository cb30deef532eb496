/**
 * `deno task bench:e2e`: p50/p90/p99 from an HTTPRoute write to the first response from the backend it now names,
 * through the whole path: the API server, the operator (translation, ConfigMap write), the gateway pod's chaperone
 * (ConfigMap watch, ghost.json, ghost reload) and varnishd, measured at the Gateway's Service address. 100 changes
 * of one route between two apps; every change moves the route, and every sample waits for the new backend's answer.
 *
 * @module
 */
import { equal } from "node:assert/strict";
import { clusterAvailable, eventually } from "../cluster/mod.ts";
import { percentile } from "../bench/percentile.ts";
import { apply, applyApp, echoApp, get, GW_API, podOf, startE2eGateway } from "./_e2e_gateway.ts";

const CHANGES = 100;

Deno.test({
  name: "bench: HTTPRoute write to the first response from its new backend, through the operator and a gateway pod",
  ignore: !clusterAvailable(),
}, async () => {
  // the operator of this checkout, as when the committed figures were measured
  await using gw = await startE2eGateway({
    operator: "process",
    setup: ({ client, name }) => applyApp(client, [...echoApp(name, "bench-a", 1), ...echoApp(name, "bench-b", 1)]),
  });
  const { client, address } = gw;
  const ns = gw.ns.name;
  const route = (backend: string) => ({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "bench", namespace: ns },
    spec: {
      parentRefs: [{ name: gw.gateway }],
      rules: [{
        matches: [{ path: { type: "PathPrefix", value: "/bench" } }],
        backendRefs: [{ name: backend, port: 8080 }],
      }],
    },
  });
  const servedBy = async () => podOf((await get(address, "/bench")).body) ?? "";
  await apply(client, `${GW_API}/namespaces/${ns}/httproutes`, route("bench-a"));
  await eventually(async () => equal((await servedBy()).startsWith("bench-a-"), true), { timeoutMs: 120_000 });
  const samples: number[] = [];
  for (let i = 1; i <= CHANGES; i++) {
    const backend = i % 2 === 1 ? "bench-b" : "bench-a";
    const started = performance.now();
    await apply(client, `${GW_API}/namespaces/${ns}/httproutes`, route(backend));
    await eventually(async () => equal((await servedBy()).startsWith(`${backend}-`), true), {
      timeoutMs: 30_000,
      intervalMs: 2,
    });
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  const ms = (p: number) => percentile(samples, p).toFixed(0);
  console.log(
    `HTTPRoute write → first response from the new backend: p50 ${ms(50)} ms, p90 ${ms(90)} ms, p99 ${ms(99)} ms ` +
      `(${samples.length} changes; min ${samples[0].toFixed(0)} ms, max ${samples.at(-1)!.toFixed(0)} ms)`,
  );
});
