/**
 * `deno task bench:invalidation`, on the local cluster with the operator of this checkout and a Gateway of three pods
 * (chaperone, varnishd, ghost) caching an echo origin:
 *
 * 1. From an HTTP API call to the answer that every pod confirmed (`POST /invalidate`, one surrogate key, hard; the
 *    operator's TokenReview and SubjectAccessReview answers are remembered for 10 s, as in production): p50 and p99
 *    over 100 calls (target p99 ≤ 100 ms).
 * 2. A purge of one surrogate key carried by 10,000 objects cached on one pod: how long the call takes, and the
 *    requests per second of a cached workload on that pod (wrk, one hot URL) before and during the purge, side by
 *    side.
 *
 * The figures go to `invalidation_bench_results.md` beside this file (formatted with `deno fmt`), the stored output
 * that READMEs' figures come from (`scripts/bench_figures.ts`).
 *
 * `LACQUER_BENCH_CALLS` (100) and `LACQUER_BENCH_OBJECTS` (10,000) change the sizes.
 *
 * @module
 */
import { equal } from "node:assert/strict";
import { getWithHost } from "../../chaperone/_test_varnish.ts";
import { serviceAccountToken } from "../../operator/invalidation/_test_invalidation.ts";
import { benchResultsHeading } from "../bench/results_heading.ts";
import { clusterAvailable, eventually, freePort } from "../cluster/mod.ts";
import { apply, applyApp, echoApp, GW_API, startE2eGateway } from "./_e2e_gateway.ts";
import { percentile } from "../bench/percentile.ts";
import { invalidationReport, TARGET_P99_MS } from "./invalidation_report.ts";

const HOST = "bench.example.com";
const CALLS = Number(Deno.env.get("LACQUER_BENCH_CALLS") ?? 100);
const OBJECTS = Number(Deno.env.get("LACQUER_BENCH_OBJECTS") ?? 10_000);
const RESULTS = new URL("invalidation_bench_results.md", import.meta.url);

/** Runs wrk against one pod for `seconds` and returns its requests per second. */
async function wrk(ip: string, seconds: number): Promise<number> {
  const out = await new Deno.Command("wrk", {
    args: ["-t1", "-c16", `-d${seconds}s`, "-H", `Host: ${HOST}`, `http://${ip}/hot`],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const match = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (!out.success || !match) throw new Error(`wrk failed: ${text}`);
  return Number(match[1]);
}

Deno.test({
  name: "bench: invalidation fan-out to 3 pods, and a 10,000-object tag purge under a cached workload",
  ignore: !clusterAvailable(),
}, async () => {
  const apiPort = freePort();
  await using gw = await startE2eGateway({
    operator: "process",
    invalidationPort: apiPort,
    // one caller sends the calls back to back: the default rate limit would refuse most of them
    operatorArgs: ["--invalidation-rate", "1000"],
    setup: ({ client, name }) => applyApp(client, echoApp(name, "echo", 1)),
  });
  const { client } = gw;
  const ns = gw.ns.name;
  await apply(client, `${GW_API}/namespaces/${ns}/httproutes`, {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "bench", namespace: ns },
    spec: { parentRefs: [{ name: "gw" }], hostnames: [HOST], rules: [{ backendRefs: [{ name: "echo", port: 8080 }] }] },
  });
  await apply(client, `/apis/lacquer.dev/v1alpha1/namespaces/${ns}/cachepolicies`, {
    apiVersion: "lacquer.dev/v1alpha1",
    kind: "CachePolicy",
    metadata: { name: "bench", namespace: ns },
    spec: {
      targetRefs: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", name: "bench" }],
      ttl: { forced: "1h" },
    },
  });
  await client.request(`/apis/apps/v1/namespaces/${ns}/deployments/gw/scale`, {
    method: "PATCH",
    contentType: "application/merge-patch+json",
    body: { spec: { replicas: 3 } },
  });
  const ips = await eventually(async () => {
    const list = await client.request<
      { items: { status: { podIP?: string; conditions?: { type: string; status: string }[] } }[] }
    >(
      `/api/v1/namespaces/${ns}/pods`,
      { query: { labelSelector: "gateway.networking.k8s.io/gateway-name=gw" } },
    );
    const ready = list.items.filter((p) => p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
    equal(ready.length, 3);
    const ips = ready.map((p) => p.status.podIP!);
    for (const ip of ips) equal((await getWithHost(80, HOST, "/hot", { address: ip })).slice(0, 3), "200");
    return ips;
  }, { timeoutMs: 120_000, intervalMs: 500 });
  const token = await serviceAccountToken(client, ns, "bench", true);
  const invalidate = async (tag: string) => {
    const response = await fetch(`http://127.0.0.1:${apiPort}/invalidate`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ hostname: HOST, tags: [tag], mode: "hard" }),
    });
    const body = await response.json();
    equal(response.status, 200, JSON.stringify(body));
    equal(body.succeeded, 3);
    return body as { results: { affected?: number }[] };
  };

  await invalidate("warm-up");
  const samples: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const started = performance.now();
    await invalidate(`tag-${i}`);
    samples.push(performance.now() - started);
  }
  const sorted = samples.toSorted((a, b) => a - b);
  const ms = (p: number) => percentile(sorted, p).toFixed(1);
  console.log(
    `HTTP call → every pod confirmed (3 pods, ${sorted.length} calls): p50 ${ms(50)} ms, p99 ${ms(99)} ms ` +
      `(min ${sorted[0].toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms; target p99 ≤ ${TARGET_P99_MS} ms)`,
  );

  const [pod] = ips;
  const fillStarted = performance.now();
  const workers = 8;
  let next = 0;
  await Promise.all(Array.from({ length: workers }, async () => {
    while (next < OBJECTS) {
      const i = next++;
      const answer = await getWithHost(80, HOST, `/bulk/${i}`, {
        address: pod,
        headers: { "X-Echo-Set-Header": "Surrogate-Key: bulk" },
      });
      if (!answer.startsWith("200")) throw new Error(`fill /bulk/${i}: ${answer.slice(0, 200)}`);
    }
  }));
  const fillSeconds = (performance.now() - fillStarted) / 1000;
  console.log(`${OBJECTS} objects tagged "bulk" cached on one pod in ${fillSeconds.toFixed(1)} s`);
  const before = await wrk(pod, 5);
  const during = wrk(pod, 5);
  await new Promise((r) => setTimeout(r, 1_000));
  const purgeStarted = performance.now();
  const purged = await invalidate("bulk");
  const purgeMs = performance.now() - purgeStarted;
  const affected = purged.results.map((r) => r.affected ?? "unknown").join(", ");
  const duringRps = await during;
  console.log(
    `tag purge of ${OBJECTS} objects: ${purgeMs.toFixed(0)} ms (objects affected per pod: ${affected}); ` +
      `cached workload on that pod: ${before.toFixed(0)} req/s before, ${duringRps.toFixed(0)} req/s during ` +
      `(a 5 s run with the purge 1 s in)`,
  );
  await Deno.writeTextFile(
    RESULTS,
    (await benchResultsHeading("bench:invalidation")) + invalidationReport({
      pods: ips.length,
      calls: samples,
      purge: {
        objects: OBJECTS,
        fillSeconds,
        ms: purgeMs,
        affected: purged.results.map((r) => r.affected),
        rpsBefore: before,
        rpsDuring: duringRps,
      },
    }),
  );
  // aligned tables, as the figure sections of the READMEs keep them
  const fmt = await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", RESULTS.pathname] }).output();
  if (!fmt.success) throw new Error(`deno fmt ${RESULTS.pathname}: ${new TextDecoder().decode(fmt.stderr)}`);
});
