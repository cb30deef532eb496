import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { eventually } from "../tests/cluster/eventually.ts";
import { createLogger } from "../internal/log.ts";
import type { ChildObject } from "./children.ts";
import type { PodAnswer, TargetPod } from "./gateway_pods.ts";
import {
  MAX_PUSHED_SHARDS,
  type RoutingGeneration,
  RoutingPusher,
  routingPushOf,
  RoutingSequence,
  UNREACHABLE_PAUSE_MS,
} from "./routing_pusher.ts";

function configMap(name: string, content: Record<string, unknown>): ChildObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "ns", labels: {} }, ...content };
}

const generation: RoutingGeneration = {
  sequence: 42,
  configMap: configMap("gw-lacquer", { data: { "main.vcl": "vcl 4.1;\n", "routing-shards.json": "{}" } }),
  shards: [
    configMap("gw-lacquer-r0", { data: { "routing.json": "{}" } }),
    configMap("gw-lacquer-r1", { data: {}, binaryData: { "routing.json.gz": "H4sI" } }),
  ],
};

Deno.test("RoutingSequence numbers by the clock, and above the last when the clock has not moved on", () => {
  let now = 1_000;
  const sequence = new RoutingSequence(() => now);
  deepStrictEqual([sequence.next(), sequence.next()], [1_000, 1_001]);
  now = 900; // a clock set back
  equal(sequence.next(), 1_002);
  now = 5_000;
  equal(sequence.next(), 5_000);
  // a predecessor's number on the ConfigMap, ahead of this clock
  equal(sequence.next(9_000), 9_001);
  equal(sequence.next(), 9_002);
});

Deno.test("routingPushOf() carries the ConfigMaps' content by name", () => {
  deepStrictEqual(routingPushOf(generation), {
    sequence: 42,
    configMap: { data: { "main.vcl": "vcl 4.1;\n", "routing-shards.json": "{}" } },
    shards: {
      "gw-lacquer-r0": { data: { "routing.json": "{}" } },
      "gw-lacquer-r1": { data: {}, binaryData: { "routing.json.gz": "H4sI" } },
    },
  });
});

function pods(answers: Record<string, PodAnswer | Error>, token: string | Error = "t0k3n") {
  const posts: { pod: string; path: string; token: string; body: string }[] = [];
  const live: TargetPod[] = Object.keys(answers).map((name) => ({ pod: `ns/${name}`, gateway: "ns/gw", ip: name }));
  return {
    posts,
    pods: {
      live: (gateways: readonly string[]) => live.filter((p) => gateways.includes(p.gateway)),
      token: () => token instanceof Error ? Promise.reject(token) : Promise.resolve(token),
      post: (pod: TargetPod, path: string, token: string, body: string) => {
        posts.push({ pod: pod.pod, path, token, body });
        const answer = answers[pod.ip];
        return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
      },
    },
  };
}

Deno.test("RoutingPusher.push() posts the generation to every live pod of the Gateway and counts each answer", async () => {
  const { posts, pods: fake } = pods({
    a: { status: 202, text: '{"result":"taken"}\n' },
    b: { status: 202, text: '{"result":"stale"}\n' },
    c: { status: 401, text: '{"error":"unauthorized"}\n' },
    d: new Error("no answer within 2000 ms"),
  });
  const lines: string[] = [];
  const results: string[] = [];
  const pusher = new RoutingPusher({
    pods: fake,
    observe: (result) => results.push(result),
    log: createLogger({ level: "debug", sink: (line) => lines.push(line) }),
  });
  await pusher.push("ns/gw", generation);
  deepStrictEqual(posts.map((p) => [p.pod, p.path, p.token]), [
    ["ns/a", "/routing", "t0k3n"],
    ["ns/b", "/routing", "t0k3n"],
    ["ns/c", "/routing", "t0k3n"],
    ["ns/d", "/routing", "t0k3n"],
  ]);
  deepStrictEqual(JSON.parse(posts[0].body), routingPushOf(generation));
  deepStrictEqual(results.sort(), ["failed", "failed", "stale", "taken"]);
  const logged = lines.map((l) => JSON.parse(l));
  deepStrictEqual(logged.slice(0, 2).map((l) => [l.msg, l.pod, l.err]), [
    ["Routing push failed", "ns/c", 'HTTP 401: {"error":"unauthorized"}\n'],
    ["Routing push failed", "ns/d", "no answer within 2000 ms"],
  ]);
  const { msg, gateway, sequence, shards, pods: sent, taken } = logged[2];
  deepStrictEqual({ msg, gateway, sequence, shards, sent, taken }, {
    msg: "Routing pushed",
    gateway: "ns/gw",
    sequence: 42,
    shards: 2,
    sent: 4,
    taken: 1,
  });
  await pusher.push("ns/other", generation);
  equal(posts.length, 4, "no pods of that Gateway");
});

Deno.test("RoutingPusher.push() resolves when every pod has answered, or after waitMs while one has not", async () => {
  let answerSlow: ((answer: PodAnswer) => void) | undefined;
  const fake = pods({ fast: { status: 202, text: '{"result":"taken","applied":true}' }, slow: new Error("unused") });
  const lines: string[] = [];
  const pusher = new RoutingPusher({
    pods: {
      ...fake.pods,
      post: (pod, path, token, body) =>
        pod.ip === "slow" ? new Promise((resolve) => answerSlow = resolve) : fake.pods.post(pod, path, token, body),
    },
    waitMs: 40,
    log: createLogger({ sink: (line) => lines.push(line) }),
  });
  const started = performance.now();
  await pusher.push("ns/gw", generation);
  const waited = performance.now() - started;
  ok(waited >= 35 && waited < 1_000, `${waited} ms`);
  equal(lines.length, 0, "the slow pod's request goes on");
  answerSlow!({ status: 202, text: '{"result":"taken","applied":false}' });
  await eventually(() => equal(lines.length, 1));
  const { msg, taken, applied } = JSON.parse(lines[0]);
  deepStrictEqual({ msg, taken, applied }, { msg: "Routing pushed", taken: 2, applied: 1 });

  // both answer at once: no wait
  const quick = new RoutingPusher({
    pods: pods({ a: { status: 202, text: '{"result":"taken"}' } }).pods,
    waitMs: 60_000,
    log: createLogger({ sink: () => {} }),
  });
  const before = performance.now();
  await quick.push("ns/gw", generation);
  ok(performance.now() - before < 5_000);
});

Deno.test("RoutingPusher.push() leaves a pod that did not answer out for UNREACHABLE_PAUSE_MS", async () => {
  const answers: Record<string, PodAnswer | Error> = {
    a: { status: 202, text: '{"result":"taken"}' },
    b: new Error("unreachable: connection refused"),
    c: { status: 404, text: "not found" },
  };
  const { posts, pods: fake } = pods(answers);
  let now = 0;
  const results: string[] = [];
  const pusher = new RoutingPusher({
    pods: fake,
    observe: (result) => results.push(result),
    log: createLogger({ sink: () => {} }),
    now: () => now,
  });
  const asked = async () => {
    posts.length = 0;
    results.length = 0;
    await pusher.push("ns/gw", generation);
    return posts.map((p) => p.pod);
  };
  deepStrictEqual(await asked(), ["ns/a", "ns/b", "ns/c"]);
  // b did not answer; c answered (an older chaperone): only b is paused
  deepStrictEqual(await asked(), ["ns/a", "ns/c"]);
  deepStrictEqual(results.sort(), ["failed", "skipped", "taken"]);
  now = UNREACHABLE_PAUSE_MS - 1;
  deepStrictEqual(await asked(), ["ns/a", "ns/c"]);
  now = UNREACHABLE_PAUSE_MS;
  answers.b = { status: 202, text: '{"result":"stale"}' };
  deepStrictEqual(await asked(), ["ns/a", "ns/b", "ns/c"]);
  deepStrictEqual(await asked(), ["ns/a", "ns/b", "ns/c"], "answered again: no longer paused");
});

Deno.test("RoutingPusher.push() sends nothing while not allowed, without the Gateway's admin token, or for a generation of many shards", async () => {
  const { posts, pods: fake } = pods({ a: { status: 202, text: '{"result":"taken"}' } }, new Error("Secret not found"));
  const log = createLogger({ sink: () => {} });
  await new RoutingPusher({ pods: fake, log }).push("ns/gw", generation);
  const allowed = pods({ a: { status: 202, text: '{"result":"taken"}' } });
  await new RoutingPusher({ pods: allowed.pods, allowed: () => false, log }).push("ns/gw", generation);
  equal(posts.length + allowed.posts.length, 0);
  const many = { ...generation, shards: Array.from({ length: MAX_PUSHED_SHARDS + 1 }, () => generation.shards[0]) };
  const pusher = new RoutingPusher({ pods: allowed.pods, log });
  await pusher.push("ns/gw", many);
  equal(allowed.posts.length, 0);
  await pusher.push("ns/gw", { ...many, shards: many.shards.slice(1) });
  equal(allowed.posts.length, 1);
});
