/**
 * `deno task bench:e2e`: end-to-end propagation, from the write of a change to the API server until every gateway
 * pod answers correctly, through the whole path: the API server, the operator of this checkout (a process against
 * the test cluster's API server: its watch, translation and ConfigMap writes), and two gateway pods running the
 * gateway image (chaperone: ConfigMap watch, shard fetch, ghost.json delta, ghost reload; varnishd with ghost). Each
 * pod is asked directly (its pod IP, the route's Host) over `LACQUER_BENCH_IN_FLIGHT` (3) kept-alive connections, a
 * request in flight on each, spread over a round trip (and at most one every `LACQUER_BENCH_POLL_MS`, 1), until it
 * answers as the change says.
 *
 * One Gateway grows through the route counts of `LACQUER_BENCH_SIZES` (100, 1,000 and 5,000 by default; e.g.
 * `100,1000,5000,20000,50000`): routes `r<i>` (hostname `h<i>.bench.example`, to one of two echo apps) are created
 * in bulk (`LACQUER_BENCH_CREATES`, 32, at a time; the rate is printed), then the bench waits until the operator is
 * quiet (its queues empty, route statuses written) and both pods serve the last route. At each count it measures
 * `LACQUER_BENCH_CHANGES` (60; the p99 of fewer is little more than the slowest one) changes of each kind, by turns
 * so that every kind meets the same conditions, `LACQUER_BENCH_GAP_MS` (200) apart:
 *
 * - HTTPRoute create: a new route on a new hostname → both pods answer 200 from its app;
 * - HTTPRoute update: a route spread over the Gateway moves to the other app (a merge patch of its rules);
 * - HTTPRoute delete: the created route is deleted → both pods answer 404;
 * - EndpointSlice: the one endpoint of a Service without selector (one route uses it) moves to the other app's pod.
 *
 * The stages of each change come from the operator's and the chaperones' logs (`propagation_stages.ts`; the
 * chaperones log at debug, their access log is off so the bench's polling does not fill it). It prints p50/p99 and
 * the median stages of each kind and count; `LACQUER_BENCH_JSON=<file>` writes every sample there
 * (`tests/bench/report.ts`, after each route count, so a later count that fails leaves the earlier ones), and
 * `LACQUER_BENCH_LOGS=<dir>` keeps the operator's and each pod's log there (`operator-<routes>.log`,
 * `pod<i>-<routes>.log`).
 *
 * @module
 */
import { equal } from "node:assert/strict";
import type { KubeClient } from "../../internal/kube/mod.ts";
import { ROUTING_SHARDS_KEY } from "../../internal/names.ts";
import { clusterAvailable, containerLogFile, eventually } from "../cluster/mod.ts";
import { percentile } from "../bench/percentile.ts";
import type { PropagationSeries } from "../bench/report_render.ts";
import { apply, applyApp, echoApp, GW_API, podOf, startE2eGateway } from "./_e2e_gateway.ts";
import { KeepAliveClient } from "./keep_alive_client.ts";
import { pollUntil } from "./paced_poll.ts";
import {
  changeStages,
  type ChangeTimes,
  parseLogLines,
  PART_NAMES,
  STAGE_NAMES,
  type Stages,
} from "./propagation_stages.ts";

const SIZES = (Deno.env.get("LACQUER_BENCH_SIZES") ?? "100,1000,5000").split(",").map(Number).sort((a, b) => a - b);
const CHANGES = Number(Deno.env.get("LACQUER_BENCH_CHANGES") ?? 60);
const GAP_MS = Number(Deno.env.get("LACQUER_BENCH_GAP_MS") ?? 200);
/**
 * Each pod is asked over this many kept-alive connections, one request in flight on each, their requests spread over
 * a round trip (`paced_poll.ts`), and at most one every {@linkcode POLL_MS}: on 2 loaded cores a round trip is
 * several ms of scheduling, which one connection would add to every change half of on average.
 */
const IN_FLIGHT = Number(Deno.env.get("LACQUER_BENCH_IN_FLIGHT") ?? 3);
const POLL_MS = Number(Deno.env.get("LACQUER_BENCH_POLL_MS") ?? 1);
/** Gateway pods, each checked. */
const PODS = 2;
/**
 * Route creations in flight at once while the Gateway grows: the API server's writes are the limit (and the operator
 * reconciling beside them), not the bench.
 */
const PARALLEL_CREATES = Number(Deno.env.get("LACQUER_BENCH_CREATES") ?? 32);
const APPS = ["bench-a", "bench-b"];
const KINDS = ["HTTPRoute create", "HTTPRoute update", "HTTPRoute delete", "EndpointSlice"] as const;
type Kind = typeof KINDS[number];

const wall = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface GatewayPod {
  name: string;
  ip: string;
  logFile: string;
  /** The connections the bench polls it over. */
  clients: KeepAliveClient[];
}

/** An HTTPRoute on hostname `host` to the app `app`. */
function httpRoute(namespace: string, name: string, host: string, app: string) {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name, namespace },
    spec: { parentRefs: [{ name: "gw" }], hostnames: [host], rules: [{ backendRefs: [{ name: app, port: 8080 }] }] },
  };
}

/** The EndpointSlice of the Service "moving": one ready endpoint, `address`. */
function movingSlice(address: string) {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: "moving-1",
      labels: { "kubernetes.io/service-name": "moving", "endpointslice.kubernetes.io/managed-by": "lacquer-bench" },
    },
    addressType: "IPv4",
    ports: [{ name: "http", port: 3000, protocol: "TCP" }],
    endpoints: [{ addresses: [address], conditions: { ready: true } }],
  };
}

/** Runs `fn` on each of `items`, `parallel` at a time. */
async function inParallel<T>(items: readonly T[], parallel: number, fn: (item: T) => Promise<unknown>) {
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

/** The operator's queue depths (`lacquer_operator_queue_depth`), summed over its controllers. */
async function operatorQueued(metricsPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  return [...text.matchAll(/^lacquer_operator_queue_depth\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

/** The shards the Gateway's routing.json is stored in (0: whole). */
async function shardCount(client: KubeClient, namespace: string): Promise<number> {
  const cm = await client.request<{ data?: Record<string, string> }>(
    `/api/v1/namespaces/${namespace}/configmaps/gw-lacquer`,
  );
  const manifest = cm.data?.[ROUTING_SHARDS_KEY];
  return manifest ? (JSON.parse(manifest) as { shards: unknown[] }).shards.length : 0;
}

Deno.test({
  name: "bench: HTTPRoute and EndpointSlice changes to the first correct response of every gateway pod",
  ignore: !clusterAvailable(),
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const started = performance.now();
  await using gw = await startE2eGateway({
    operator: "process",
    parametersRef: "bench",
    setup: async ({ client, name }) => {
      await applyApp(client, APPS.flatMap((app) => echoApp(name, app, 1)));
      await apply(client, `/apis/lacquer.dev/v1alpha1/namespaces/${name}/gatewayparameters`, {
        apiVersion: "lacquer.dev/v1alpha1",
        kind: "GatewayParameters",
        metadata: { name: "bench", namespace: name },
        spec: { replicas: PODS, logging: { level: "debug" }, accessLog: { enabled: false } },
      });
      await apply(client, `/api/v1/namespaces/${name}/services`, {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "moving", namespace: name },
        spec: { ports: [{ name: "http", port: 8080, targetPort: 3000 }] },
      });
    },
  });
  const { client } = gw;
  const ns = gw.ns.name;
  const operatorLog = gw.operatorProcess!.logFile;
  const metricsPort = gw.operatorProcess!.metricsPort;
  const routesPath = `${GW_API}/namespaces/${ns}/httproutes`;
  const slicesPath = `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`;
  type PodList = {
    items: {
      metadata: { name: string; namespace: string; uid: string; deletionTimestamp?: string };
      status?: { podIP?: string; conditions?: { type: string; status: string }[] };
    }[];
  };
  const readyPods = async (selector: string) => {
    const list = await client.request<PodList>(`/api/v1/namespaces/${ns}/pods`, {
      query: { labelSelector: selector },
    });
    return list.items.filter((p) =>
      !p.metadata.deletionTimestamp && p.status?.podIP &&
      p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True")
    );
  };
  const pods: GatewayPod[] = await eventually(async () => {
    const ready = await readyPods("gateway.networking.k8s.io/gateway-name=gw");
    equal(ready.length, PODS, "gateway pods ready");
    return ready.map((p) => ({
      name: p.metadata.name,
      ip: p.status!.podIP!,
      logFile: containerLogFile(gw.ns.cluster, p.metadata, "gateway"),
      clients: Array.from({ length: IN_FLIGHT }, () => new KeepAliveClient(p.status!.podIP!, 80)),
    }));
  }, { timeoutMs: 120_000, intervalMs: 500 });
  const appIp: Record<string, string> = {};
  for (const app of APPS) {
    appIp[app] = await eventually(async () => {
      const [pod] = await readyPods(`app=${app}`);
      if (!pod) throw new Error(`${app} is not ready`);
      return pod.status!.podIP!;
    }, { timeoutMs: 120_000, intervalMs: 500 });
  }
  await client.request(slicesPath, { method: "POST", body: movingSlice(appIp["bench-a"]) });
  await client.request(routesPath, {
    method: "POST",
    body: httpRoute(ns, "moving", "moving.bench.example", "moving"),
  });

  const from = (app: string) => (answer: string) =>
    answer.startsWith("200 ") && (podOf(answer.slice(4)) ?? "").startsWith(`${app}-`);
  const notFound = (answer: string) => answer.startsWith("404 ");
  let polls = 0;
  /**
   * When each pod first answered `host` as `ok` says (wall clock, at the answer's receipt: an upper bound), and when
   * the request it answered was sent.
   */
  const firstCorrect = (host: string, ok: (answer: string) => boolean, timeoutMs = 60_000) => {
    const deadline = performance.now() + timeoutMs;
    return Promise.all(pods.map(async (pod) => {
      const { at, sent, requests } = await pollUntil(pod.clients, host, ok, { deadline, minGapMs: POLL_MS });
      polls += requests;
      return { at, sent };
    }));
  };
  await firstCorrect("moving.bench.example", from("bench-a"), 120_000);

  /** Routes `r<i>` exist below this; `r<i>` goes to `APPS[backend[i]]`. */
  let created = 0;
  const backend: number[] = [];
  const series: PropagationSeries[] = [];
  for (const size of SIZES) {
    const growth = performance.now();
    const names = Array.from({ length: Math.max(0, size - created) }, (_, k) => created + k);
    await inParallel(names, PARALLEL_CREATES, async (i) => {
      backend[i] = i % 2;
      await client.request(routesPath, {
        method: "POST",
        body: httpRoute(ns, `r${i}`, `h${i}.bench.example`, APPS[i % 2]),
      });
    });
    created = Math.max(created, size);
    const createdS = (performance.now() - growth) / 1000;
    // settled: both pods serve the last route, and the operator's queues stay empty for 3 s (route statuses written)
    await firstCorrect(`h${created - 1}.bench.example`, from(APPS[backend[created - 1]]), 3600_000);
    for (let quiet = 0; quiet < 3;) {
      quiet = (await operatorQueued(metricsPort)) === 0 ? quiet + 1 : 0;
      await sleep(1000);
    }
    console.log(
      `${size} routes: ${names.length} created in ${createdS.toFixed(0)} s (${
        (names.length / createdS).toFixed(0)
      } routes/s, ${PARALLEL_CREATES} at a time), settled after ${((performance.now() - growth) / 1000).toFixed(0)} s`,
    );

    const times: Record<Kind, Required<ChangeTimes>[]> = Object.fromEntries(KINDS.map((k) => [k, []])) as never;
    /** The polls of this route count's changes, and the time they took (ms, summed over the changes). */
    const polled = { polls: 0, ms: 0 };
    const timed = async (kind: Kind, write: () => Promise<unknown>, host: string, ok: (a: string) => boolean) => {
      const started = wall();
      await write();
      const acknowledged = wall();
      const before = polls;
      const answers = await firstCorrect(host, ok);
      const served = answers.map((a) => a.at);
      polled.polls += polls - before;
      polled.ms += Math.max(...served) - acknowledged;
      const asked = answers.map((a) => a.sent);
      times[kind].push({ started, acknowledged, served, asked, throughOperator: kind !== "EndpointSlice" });
      await sleep(GAP_MS);
    };
    let moving = 0;
    for (let k = 0; k < CHANGES; k++) {
      const name = `c${size}-${k}`;
      const host = `${name}.bench.example`;
      await timed(
        "HTTPRoute create",
        () => client.request(routesPath, { method: "POST", body: httpRoute(ns, name, host, "bench-b") }),
        host,
        from("bench-b"),
      );
      // a route spread over the Gateway (and its shards) moves to the other app
      const i = (k * 7919 + size) % created;
      backend[i] = 1 - backend[i];
      await timed(
        "HTTPRoute update",
        () =>
          client.request(`${routesPath}/r${i}`, {
            method: "PATCH",
            contentType: "application/merge-patch+json",
            body: { spec: { rules: [{ backendRefs: [{ name: APPS[backend[i]], port: 8080 }] }] } },
          }),
        `h${i}.bench.example`,
        from(APPS[backend[i]]),
      );
      await timed(
        "HTTPRoute delete",
        () => client.request(`${routesPath}/${name}`, { method: "DELETE" }),
        host,
        notFound,
      );
      moving = 1 - moving;
      await timed(
        "EndpointSlice",
        () =>
          client.request(`${slicesPath}/moving-1`, {
            method: "PATCH",
            contentType: "application/merge-patch+json",
            body: { endpoints: [{ addresses: [appIp[APPS[moving]]], conditions: { ready: true } }] },
          }),
        "moving.bench.example",
        from(APPS[moving]),
      );
    }

    const operatorText = await Deno.readTextFile(operatorLog);
    const podTexts = await Promise.all(pods.map((p) => Deno.readTextFile(p.logFile)));
    const keep = Deno.env.get("LACQUER_BENCH_LOGS");
    if (keep) {
      // the raw logs, for a closer look at single changes
      await Deno.mkdir(keep, { recursive: true });
      await Deno.writeTextFile(`${keep}/operator-${size}.log`, operatorText);
      for (const [i, text] of podTexts.entries()) await Deno.writeTextFile(`${keep}/pod${i}-${size}.log`, text);
    }
    const operatorEvents = parseLogLines(operatorText);
    const podEvents = podTexts.map(parseLogLines);
    const shards = await shardCount(client, ns);
    for (const kind of KINDS) {
      const samples = times[kind];
      const names = { configMap: `${ns}/gw-lacquer`, gateway: `${ns}/gw` };
      const stages: Stages[] = samples.map((c) => changeStages(c, operatorEvents, podEvents, names));
      const total = samples.map((c) => Math.max(...c.served) - c.started);
      const inEffect = samples.map((c) => Math.max(...c.asked) - c.started);
      series.push({
        change: kind,
        routes: size,
        shards,
        pods: PODS,
        total,
        afterWrite: samples.map((c) => Math.max(...c.served) - c.acknowledged),
        inEffect,
        stages,
        until: `first correct response of each of ${PODS} gateway pods`,
      });
      const median = [...STAGE_NAMES, ...PART_NAMES].map((s) => {
        const values = stages.map((x) => x[s]).filter((v) => v !== undefined);
        return values.length ? `${s} ${percentile(values, 50).toFixed(1)}` : "";
      }).filter(Boolean).join(", ");
      console.log(
        `${size} routes (${shards} shards), ${kind}: p50 ${percentile(total, 50).toFixed(1)} ms, p99 ${
          percentile(total, 99).toFixed(1)
        } ms (${total.length} changes); in effect p50 ${percentile(inEffect, 50).toFixed(1)} ms, p99 ${
          percentile(inEffect, 99).toFixed(1)
        } ms; median stages ms: ${median}`,
      );
    }
    console.log(
      `${size} routes: each pod asked every ${(polled.ms * PODS / polled.polls).toFixed(2)} ms while a change was ` +
        `on its way (${polled.polls} requests, ${IN_FLIGHT} in flight)`,
    );
    const json = Deno.env.get("LACQUER_BENCH_JSON");
    if (json) await Deno.writeTextFile(json, JSON.stringify(series));
  }
  for (const client of pods.flatMap((p) => p.clients)) client.close();
  console.log(`whole run: ${((performance.now() - started) / 1000).toFixed(0)} s`);
});
