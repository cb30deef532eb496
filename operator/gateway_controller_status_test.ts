import { deepEqual, equal, ok } from "node:assert/strict";
import { contentHash } from "../internal/content_hash.ts";
import type { KubeObject } from "../internal/kube/mod.ts";
import { createLogger } from "../internal/log.ts";
import { APPLIED_ROUTING_ANNOTATION, APPLIED_VCL_ANNOTATION, GATEWAY_NAME_LABEL } from "../internal/names.ts";
import { fakeCache } from "./_test_fake_cache.ts";
import type { ChildrenWriter } from "./children_writer.ts";
import { GatewayController } from "./gateway_controller.ts";
import { parseSnapshot, type Snapshot } from "./snapshot.ts";
import type { GatewayStatus } from "./status/mod.ts";
import type { StatusWriter } from "./status_writer.ts";
import { translate } from "./translate.ts";

const log = createLogger({ sink: () => {} });
const NOW = new Date("2026-01-01T00:00:00Z");

/** A Gateway with one route, its Service (an address) and one ready pod that serves nothing yet. */
function objects(): Snapshot {
  return parseSnapshot([
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GatewayClass",
      metadata: { name: "c" },
      spec: { controllerName: "lacquer.dev/gateway-controller" },
    },
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "a", namespace: "ns", generation: 1 },
      spec: { gatewayClassName: "c", listeners: [{ name: "h", port: 80, protocol: "HTTP" }] },
    },
    route("web.example"),
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "a", namespace: "ns", labels: { "app.kubernetes.io/managed-by": "lacquer" } },
      spec: { type: "ClusterIP", clusterIP: "10.0.0.1", ports: [{ port: 80 }] },
    },
    pod({}),
  ]);
}

function route(hostname: string) {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "r", namespace: "ns", generation: 1 },
    spec: { parentRefs: [{ name: "a" }], hostnames: [hostname], rules: [{ backendRefs: [{ name: "svc", port: 80 }] }] },
  };
}

function pod(annotations: Record<string, string>) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace: "ns", labels: { [GATEWAY_NAME_LABEL]: "a" }, annotations },
    status: { conditions: [{ type: "Ready", status: "True" }] },
  };
}

/** A controller over mutable caches whose status writes land in the cache and come back as events, as they do. */
function harness(snapshot: Snapshot, onChildren: () => void = () => {}) {
  let translations = 0;
  const statuses: GatewayStatus[] = [];
  const controller = new GatewayController({
    cache: fakeCache(snapshot),
    children: {
      sync: () => (onChildren(), Promise.resolve({ writes: 0, conflicts: [] })),
      prune: () => Promise.resolve(0),
    } as unknown as ChildrenWriter,
    status: {
      writeGateway: (raw: KubeObject, status: GatewayStatus) => {
        statuses.push(status);
        const old = snapshot.gateways[0];
        if (JSON.stringify(old.status) === JSON.stringify(status)) return Promise.resolve(false);
        // a new object with the same spec object, as the caches keep it
        snapshot.gateways[0] = { ...old, metadata: { ...old.metadata }, status } as unknown as typeof old;
        controller.onChange("Gateway", old, snapshot.gateways[0]);
        return Promise.resolve(raw !== undefined);
      },
      writeRouteParents: () => Promise.resolve(false),
    } as unknown as StatusWriter,
    log,
    defaults: { image: "x" },
    clock: () => NOW,
    observeTranslate: () => translations++,
  });
  /** Reconciles every Gateway queued now or by the reconciles, as the workers do. */
  const settle = async () => {
    while (controller.gateways.length > 0) {
      const key = (await controller.gateways.get())!;
      await controller.reconcileGateway(key, log);
      controller.gateways.done(key);
    }
  };
  return { controller, settle, statuses, translations: () => translations };
}

/** The same object with a new status, as a status write leaves it in the cache (the spec object kept). */
function withStatus<T extends { status?: unknown }>(object: T, status: unknown): T {
  return { ...object, status } as T;
}

/** The annotations of a pod that applied what a translation of the snapshot writes. */
function appliedAnnotations(snapshot: Snapshot): Record<string, string> {
  const [gw] = translate(snapshot, { now: NOW.toISOString(), defaults: { image: "x" } }).gateways;
  return {
    [APPLIED_ROUTING_ANNOTATION]: contentHash(gw.routingJson!),
    [APPLIED_VCL_ANNOTATION]: contentHash(gw.mainVcl!),
  };
}

/** Changes the snapshot's route to another hostname (its next generation) and tells the controller. */
function changeRoute(snapshot: Snapshot, controller: GatewayController, hostname: string) {
  const [parsed] = parseSnapshot([route(hostname)]).httpRoutes;
  const changed = { ...parsed, metadata: { ...parsed.metadata, generation: 2 } };
  const old = snapshot.httpRoutes[0];
  snapshot.httpRoutes[0] = changed;
  controller.onChange("HTTPRoute", old, changed);
  return changed;
}

Deno.test("GatewayController translates once per route change: status writes and pod updates do not translate", async () => {
  const snapshot = objects();
  const { controller, settle, translations } = harness(snapshot);
  controller.onChange("HTTPRoute", undefined, snapshot.httpRoutes[0]);
  await settle();
  const first = translations();
  equal(first, 1, "the route's arrival translates once; the Gateway's own status write does not translate again");
  // a route change, then what follows it in a cluster: the route's status, the pod's new annotations, Programmed
  const changed = changeRoute(snapshot, controller, "shop.example");
  await settle();
  const written = withStatus(changed, { parents: [] });
  snapshot.httpRoutes[0] = written;
  controller.onChange("HTTPRoute", changed, written);
  const oldPod = snapshot.pods[0];
  snapshot.pods[0] = withStatus(
    { ...oldPod, metadata: { ...oldPod.metadata, annotations: { x: "1" } } },
    oldPod.status,
  );
  controller.onChange("Pod", oldPod, snapshot.pods[0]);
  await settle();
  equal(translations() - first, 1, `one translation for the route change, not ${translations() - first}`);
  controller.gateways.shutDown();
});

Deno.test("GatewayController: Programmed flips when the pods report the configuration, untranslated, as a full reconcile says", async () => {
  const snapshot = objects();
  const { controller, settle, statuses, translations } = harness(snapshot);
  controller.onChange("HTTPRoute", undefined, snapshot.httpRoutes[0]);
  await settle();
  const programmed = () => statuses.at(-1)!.conditions.find((c) => c.type === "Programmed")!;
  equal(programmed().status, "False", "no pod serves the configuration yet");
  // the pod applies the current routing.json and main.vcl and says so in its annotations
  const annotations = appliedAnnotations(snapshot);
  const before = translations();
  const oldPod = snapshot.pods[0];
  snapshot.pods[0] = parseSnapshot([pod(annotations)]).pods[0];
  controller.onChange("Pod", oldPod, snapshot.pods[0]);
  await settle();
  equal(translations(), before, "a pod's update does not translate");
  equal(programmed().status, "True", programmed().message);
  // what a controller that translates everything afresh writes for the same objects
  const fresh = harness(snapshot);
  fresh.controller.enqueueAll();
  await fresh.settle();
  deepEqual(statuses.at(-1), fresh.statuses.at(-1), "the status equals a full reconcile's");
  ok(fresh.translations() >= 1);
  controller.gateways.shutDown();
  fresh.controller.gateways.shutDown();
});

Deno.test("GatewayController: a pod that reports the new configuration while its children are written makes the reconcile write Programmed=True, not Pending first", async () => {
  const snapshot = objects();
  /** The pod applies what is being written and says so, as a pushed generation makes it do before the writes end. */
  const applyOnPod = () => {
    const oldPod = snapshot.pods[0];
    snapshot.pods[0] = parseSnapshot([pod(appliedAnnotations(snapshot))]).pods[0];
    controller.onChange("Pod", oldPod, snapshot.pods[0]);
  };
  const { controller, settle, statuses } = harness(snapshot, applyOnPod);
  controller.onChange("HTTPRoute", undefined, snapshot.httpRoutes[0]);
  await settle();
  const programmed = () => statuses.map((s) => s.conditions.find((c) => c.type === "Programmed")!.status);
  ok(programmed().length > 0);
  deepEqual(new Set(programmed()), new Set(["True"]), "never Pending");
  // a route change: the same, with no flip to False and back
  changeRoute(snapshot, controller, "shop.example");
  await settle();
  deepEqual(new Set(programmed()), new Set(["True"]), "never Pending");
  controller.gateways.shutDown();
});
