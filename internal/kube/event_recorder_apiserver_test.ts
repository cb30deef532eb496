// EventRecorder against the real API server of the local cluster (tests/cluster): what `kubectl describe` shows.
import { equal, match, ok } from "node:assert/strict";
import { clusterAvailable, createTestNamespace, eventually, kubectl, useCluster } from "../../tests/cluster/mod.ts";
import { createLogger } from "../log.ts";
import { EventRecorder } from "./event_recorder.ts";
import type { KubeObject } from "./reflector.ts";

interface EventV1 {
  metadata: { name: string };
  reportingController: string;
  reportingInstance: string;
  reason: string;
  note: string;
  type: string;
  regarding: { uid: string; kind: string };
  series?: { count: number };
}

Deno.test({
  name: "EventRecorder: Events with reportingController and instance; repeats are one Event's series; transitions only",
  ignore: !clusterAvailable(),
}, async () => {
  const cluster = await useCluster();
  await using ns = await createTestNamespace(cluster);
  const configMap = await ns.client.request<KubeObject>(`/api/v1/namespaces/${ns.name}/configmaps`, {
    method: "POST",
    body: { metadata: { name: "watched" } },
  });
  const regarding = { apiVersion: "v1", kind: "ConfigMap", metadata: configMap.metadata as never };
  const outcomes: string[] = [];
  const recorder = new EventRecorder(ns.client, {
    controller: "lacquer.dev/test-controller",
    instance: "replica-1",
    log: createLogger({ level: "error" }),
    limits: { flushMs: 200 },
    observe: (o) => outcomes.push(o),
  });
  const list = async () =>
    (await ns.client.request<{ items: EventV1[] }>(`/apis/events.k8s.io/v1/namespaces/${ns.name}/events`)).items;
  try {
    const rejected = { type: "Warning", reason: "Rejected", action: "Reconcile", note: "line 3: bad" } as const;
    for (let i = 0; i < 5; i++) recorder.record(regarding, rejected);
    await recorder.settled();
    let events = await list();
    equal(events.length, 1, "five repeats, one Event");
    equal(events[0].reportingController, "lacquer.dev/test-controller");
    equal(events[0].reportingInstance, "replica-1");
    equal(events[0].regarding.uid, configMap.metadata.uid);
    await eventually(async () => equal((await list())[0].series?.count, 5), { timeoutMs: 10_000 });

    // Transitions: the same state again records nothing; a new state records its event.
    const ok1 = { type: "Normal", reason: "Accepted", action: "Reconcile", note: "fine" } as const;
    equal(recorder.transition(regarding, { topic: "Accepted", state: "ok", assumed: "ok" }, ok1), false);
    equal(recorder.transition(regarding, { topic: "Accepted", state: "bad" }, rejected), true);
    equal(recorder.transition(regarding, { topic: "Accepted", state: "bad" }, rejected), false);
    equal(recorder.transition(regarding, { topic: "Accepted", state: "ok" }, ok1), true);
    await recorder.stop();
    events = await list();
    equal(events.length, 2, JSON.stringify(events.map((e) => e.reason)));
    equal(events.find((e) => e.reason === "Rejected")?.series?.count, 6);

    // What a user sees: `kubectl describe` lists both, the repeats counted.
    const described = await kubectl(cluster, ["describe", "configmap", "watched", "-n", ns.name]);
    match(described, /Warning\s+Rejected\s+.*\(x6 over .*\)\s+lacquer\.dev\/test-controller\s+line 3: bad/);
    match(described, /Normal\s+Accepted\s+.*lacquer\.dev\/test-controller\s+fine/);
    ok(!outcomes.includes("failed"), outcomes.join());
  } finally {
    await recorder.stop();
  }
});
