import { deepEqual } from "node:assert/strict";
import type { EventRecorder, KubeObject } from "../internal/kube/mod.ts";
import { createLogger } from "../internal/log.ts";
import { fakeCache } from "./_test_fake_cache.ts";
import { cachePolicySchema } from "./cache_policy/mod.ts";
import type { ChildrenWriter } from "./children_writer.ts";
import type { ClusterWatcher } from "./cluster_watcher.ts";
import type { HttpRoute } from "./api_types.ts";
import { GatewayController } from "./gateway_controller.ts";
import { OwnWrites } from "./own_writes.ts";
import { lacquerIngressClass } from "./ingress/_test_ingress_class.ts";
import { parseSnapshot, type Snapshot } from "./snapshot.ts";
import type { StatusWriter } from "./status_writer.ts";

const log = createLogger({ sink: () => {} });

async function drain(controller: GatewayController): Promise<string[]> {
  const keys: string[] = [];
  while (controller.gateways.length > 0) {
    const key = (await controller.gateways.get())!;
    keys.push(key);
    controller.gateways.done(key);
  }
  return keys;
}

const snapshot = parseSnapshot([
  {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "GatewayClass",
    metadata: { name: "c" },
    spec: { controllerName: "lacquer.dev/gateway-controller" },
  },
  ...["a", "b"].map((name) => ({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: { name, namespace: "ns" },
    spec: {
      gatewayClassName: "c",
      listeners: [{
        name: "h",
        port: 80,
        protocol: "HTTP",
        allowedRoutes: { namespaces: name === "b" ? { from: "Selector", selector: {} } : { from: "Same" } },
      }],
    },
  })),
  {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "r", namespace: "ns" },
    spec: { parentRefs: [{ name: "a" }], rules: [{ backendRefs: [{ name: "svc", port: 80 }] }] },
  },
]);

/** A controller over the snapshot whose writers write nothing (`status` adds writers, `events` records). */
function newController(
  objects: Snapshot,
  status: Record<string, unknown> = {},
  events?: EventRecorder,
  cache: ClusterWatcher = fakeCache(objects),
) {
  return new GatewayController({
    cache,
    children: {
      sync: () => Promise.resolve({ writes: 0, conflicts: [] }),
      prune: () => Promise.resolve(0),
    } as unknown as ChildrenWriter,
    status: {
      writeGateway: () => Promise.resolve(false),
      writeRouteParents: () => Promise.resolve(false),
      ...status,
    } as unknown as StatusWriter,
    ...(events ? { events } : {}),
    log,
    defaults: { image: "x" },
  });
}

Deno.test("GatewayController.onChange() enqueues exactly the Gateways an object affects", async () => {
  const controller = newController(snapshot);
  const route = snapshot.httpRoutes[0];
  const moved = { ...route, spec: { ...route.spec, parentRefs: [{ ...route.spec.parentRefs[0], name: "b" }] } };
  controller.onChange("HTTPRoute", route, moved);
  deepEqual(await drain(controller), ["ns/a", "ns/b"], "a route that moves wakes both Gateways");

  const pod: KubeObject = {
    metadata: { name: "p", namespace: "ns", labels: { "gateway.networking.k8s.io/gateway-name": "a" } },
  };
  controller.onChange("Pod", undefined, pod);
  deepEqual(await drain(controller), ["ns/a"]);

  // After a reconcile, the Services, Namespace labels, ... a Gateway read wake it.
  controller.onChange("HTTPRoute", undefined, route);
  await drain(controller);
  await controller.reconcileGateway("ns/a", log);
  await controller.reconcileGateway("ns/b", log);
  const service = (name: string) => ({ metadata: { name, namespace: "ns" } });
  controller.onChange("Service", undefined, service("svc"));
  deepEqual(await drain(controller), ["ns/a"]);
  controller.onChange("Service", undefined, service("other"));
  deepEqual(await drain(controller), []);
  const ns = (labels: Record<string, string>) => ({ metadata: { name: "ns", labels } });
  controller.onChange("Namespace", ns({ x: "1" }), ns({ x: "1" }));
  deepEqual(await drain(controller), [], "unchanged labels wake nobody");
  controller.onChange("Namespace", ns({ x: "1" }), ns({ x: "2" }));
  deepEqual(await drain(controller), ["ns/b"], "label changes wake Gateways with Selector listeners");
  // A CachePolicy wakes the Gateways its targets reach, before and after a change.
  const policy = (targetRefs: Record<string, string>[]) =>
    cachePolicySchema.parse({
      metadata: { name: "p", namespace: "ns" },
      spec: { targetRefs: targetRefs.map((t) => ({ group: "gateway.networking.k8s.io", ...t })) },
    });
  controller.onChange("CachePolicy", undefined, policy([{ kind: "HTTPRoute", name: "r" }]));
  deepEqual(await drain(controller), ["ns/a"], "a route target: the route's Gateways");
  controller.onChange("CachePolicy", policy([{ kind: "Gateway", name: "b", sectionName: "h" }]), policy([]));
  deepEqual(await drain(controller), ["ns/b"], "an invalid policy still names the Gateways it left");
  controller.onChange("CachePolicy", policy([{ kind: "HTTPRoute", name: "gone" }]), undefined);
  deepEqual(await drain(controller), []);
  controller.gateways.shutDown();
  controller.classes.shutDown();
});

Deno.test("GatewayController serves Ingresses: their class's Gateway is woken, their status written, problems told", async () => {
  const ingressClass = (gateway: string) => lacquerIngressClass("lacquer", { namespace: "ns", name: gateway });
  const ingress = (annotations: Record<string, string>) => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: "web", namespace: "ns", annotations },
    spec: { ingressClassName: "lacquer", defaultBackend: { service: { name: "svc", port: { number: 80 } } } },
  });
  const objects = [...snapshot.gatewayClasses, ...snapshot.gateways].map((o) => ({
    ...o,
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: o === snapshot.gatewayClasses[0] ? "GatewayClass" : "Gateway",
  }));
  const withIngress = parseSnapshot([
    ...objects,
    ingressClass("a"),
    ingress({ "nginx.ingress.kubernetes.io/made-up": "1" }),
  ]);
  const written: unknown[] = [];
  const recorded: string[] = [];
  const controller = newController(withIngress, {
    writeIngress: (_: unknown, status: unknown) => Promise.resolve(written.push(status) > 0),
  }, {
    transition: (_: unknown, change: { topic: string; state: string }, event?: { reason: string }) => {
      if (event) recorded.push(`${change.topic} ${event.reason}`);
      return true;
    },
  } as unknown as EventRecorder);
  controller.onChange("Ingress", undefined, withIngress.ingresses[0]);
  deepEqual(await drain(controller), ["ns/a"], "an Ingress wakes the Gateway its class names");
  controller.onChange("IngressClass", ingressClass("a"), ingressClass("b"));
  deepEqual(await drain(controller), ["ns/a", "ns/b"], "a class that moves wakes both Gateways");
  const policy = cachePolicySchema.parse({
    metadata: { name: "p", namespace: "ns" },
    spec: { targetRefs: [{ group: "networking.k8s.io", kind: "Ingress", name: "web" }] },
  });
  controller.onChange("CachePolicy", undefined, policy);
  deepEqual(await drain(controller), ["ns/a"], "a policy on an Ingress wakes the Gateway of its class");
  await controller.reconcileGateway("ns/a", log);
  deepEqual(written, [{ loadBalancer: {} }], "no address yet: an empty loadBalancer");
  deepEqual(recorded.filter((r) => r.startsWith("Problem/")), [
    "Problem/UnknownAnnotation UnknownAnnotation",
    "Problem/BackendNotFound BackendNotFound",
  ]);
  controller.gateways.shutDown();
  controller.classes.shutDown();
});

Deno.test("GatewayController tells the Ingresses of a class that names no Gateway, and hands them over once it does", async () => {
  const ingressClass = (parameters?: Record<string, string>) => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "IngressClass",
    metadata: { name: "lacquer" },
    spec: { controller: "lacquer.dev/ingress-controller", ...(parameters ? { parameters } : {}) },
  });
  const ingress = (name: string, ingressClassName: string) => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name, namespace: "ns" },
    spec: { ingressClassName, defaultBackend: { service: { name: "svc", port: { number: 80 } } } },
  });
  const other = {
    apiVersion: "networking.k8s.io/v1",
    kind: "IngressClass",
    metadata: { name: "nginx" },
    spec: { controller: "k8s.io/ingress-nginx" },
  };
  const objects = [ingressClass(), other, ingress("web", "lacquer"), ingress("theirs", "nginx")];
  const snap = parseSnapshot(objects);
  const setClass = (cls: unknown) => snap.ingressClasses[0] = parseSnapshot([cls]).ingressClasses[0];
  const cache = fakeCache(snap);
  const written: unknown[] = [];
  const recorded: string[] = [];
  const controller = new GatewayController({
    cache,
    children: { prune: () => Promise.resolve(0) } as unknown as ChildrenWriter,
    status: {
      writeIngress: (_: unknown, status: unknown) => Promise.resolve(written.push(status) > 0),
    } as unknown as StatusWriter,
    events: {
      transition: (_: unknown, change: { topic: string; state: string }, event?: { reason: string; note: string }) => {
        recorded.push(event ? `${change.topic} ${event.reason}: ${event.note}` : `${change.topic} cleared`);
        return true;
      },
    } as unknown as EventRecorder,
    log,
    defaults: { image: "x" },
  });
  const drainIngresses = async () => {
    const keys: string[] = [];
    while (controller.ingresses.length > 0) {
      const key = (await controller.ingresses.get())!;
      keys.push(key);
      await controller.reconcileIngress(key);
      controller.ingresses.done(key);
    }
    return keys;
  };
  controller.enqueueAll();
  deepEqual(await drainIngresses(), ["ns/web"], "only the Ingress of our class, not another controller's");
  deepEqual(await drain(controller), [], "no Gateway to reconcile");
  deepEqual(written, [{ loadBalancer: {} }]);
  deepEqual(recorded, [
    'Problem/NoGateway NoGateway: IngressClass "lacquer" has no spec.parameters, so its Ingresses are served ' +
    "nowhere: set spec.parameters to a Gateway (apiGroup: gateway.networking.k8s.io, kind: Gateway, " +
    "scope: Namespace, namespace, name)",
    "Translated cleared",
  ]);

  // The class names something that is not a Gateway: the Ingress hears why, on the class's change alone.
  recorded.length = 0;
  const configMap = ingressClass({ apiGroup: "", kind: "ConfigMap", name: "cfg", namespace: "ns" });
  setClass(configMap);
  controller.onChange("IngressClass", ingressClass(), configMap);
  deepEqual(await drainIngresses(), ["ns/web"]);
  deepEqual(recorded.filter((r) => r.startsWith("Problem/")).map((r) => r.slice(0, 95)), [
    'Problem/NoGateway NoGateway: IngressClass "lacquer" names ConfigMap of group "" in spec.paramet',
  ]);

  // Once it names a Gateway, that Gateway takes the Ingress over and the Warning is cleared.
  recorded.length = 0;
  const named = ingressClass({
    apiGroup: "gateway.networking.k8s.io",
    kind: "Gateway",
    scope: "Namespace",
    namespace: "ns",
    name: "gw",
  });
  setClass(named);
  controller.onChange("IngressClass", configMap, named);
  deepEqual(await drainIngresses(), [], "served by a Gateway now: not this queue's");
  deepEqual(await drain(controller), ["ns/gw"]);
  await controller.reconcileGateway("ns/gw", log);
  deepEqual(recorded.filter((r) => r.startsWith("Problem/NoGateway")), ["Problem/NoGateway cleared"]);
  deepEqual(recorded.filter((r) => r.startsWith("Problem/GatewayNotFound")).length, 1, "the Gateway is missing");
  controller.gateways.shutDown();
  controller.classes.shutDown();
  controller.ingresses.shutDown();
});

Deno.test("GatewayController hands route status over to its own queue: a Gateway's reconcile never waits for it", async () => {
  // The first reconcile after a start writes an entry on every route (minutes at 50,000 routes); a route change
  // reconciled meanwhile must reach the ConfigMap without waiting for those writes.
  const synced: string[] = [];
  let release = () => {};
  const blocked = new Promise<void>((resolve) => release = resolve);
  const written: string[] = [];
  const controller = new GatewayController({
    cache: fakeCache(snapshot),
    children: {
      sync: (key: string) => {
        synced.push(key);
        return Promise.resolve({ writes: 0, conflicts: [] });
      },
      prune: () => Promise.resolve(0),
    } as unknown as ChildrenWriter,
    status: {
      writeGateway: () => Promise.resolve(false),
      writeRouteParents: async (_raw: unknown, update: { key: string; gateway: string }) => {
        await blocked;
        written.push(`${update.key} ${update.gateway}`);
        return true;
      },
    } as unknown as StatusWriter,
    log,
    defaults: { image: "x" },
  });
  controller.onChange("HTTPRoute", undefined, snapshot.httpRoutes[0]);
  await drain(controller);
  await controller.reconcileGateway("ns/a", log);
  // the route changed again meanwhile: the second reconcile translates too
  controller.onChange("HTTPRoute", undefined, snapshot.httpRoutes[0]);
  await controller.reconcileGateway("ns/a", log);
  deepEqual(synced, ["ns/a", "ns/a"], "both reconciles applied the children while the route status write hung");
  deepEqual(controller.routeStatuses.length, 1, "one entry queued, once");
  const key = (await controller.routeStatuses.get())!;
  const writing = controller.reconcileRouteStatus(key);
  release();
  await writing;
  controller.routeStatuses.done(key);
  deepEqual(written, ["ns/r ns/a"]);
  controller.gateways.shutDown();
  controller.routeStatuses.shutDown();
});

Deno.test("GatewayController: a route whose status alone changed wakes its Gateway later, a changed spec at once", async () => {
  const controller = newController(snapshot);
  const route = snapshot.httpRoutes[0];
  controller.onChange("HTTPRoute", undefined, route);
  deepEqual(await drain(controller), ["ns/a"]);
  // what the cache delivers after the operator wrote the route's status: a new object with the same spec object
  const written = { ...route, status: { parents: [] } };
  controller.onChange("HTTPRoute", route, written);
  deepEqual(await drain(controller), [], "not at once: a storm of status writes must not wake it once per route");
  const changed = { ...written, spec: { ...written.spec, hostnames: ["new.example"] } };
  controller.onChange("HTTPRoute", written, changed);
  deepEqual(await drain(controller), ["ns/a"]);
  controller.gateways.shutDown();
});

Deno.test("GatewayController: the echoes of the operator's own writes wake nothing, anyone else's changes do", async () => {
  const own = new OwnWrites();
  const controller = new GatewayController({
    cache: fakeCache(snapshot),
    children: {} as ChildrenWriter,
    status: {} as StatusWriter,
    log,
    defaults: { image: "x" },
    ownWrites: own,
  });
  const labels = { "gateway.networking.k8s.io/gateway-name": "a", "app.kubernetes.io/managed-by": "lacquer" };
  const child = (kind: string, rv: string, extra: Record<string, unknown> = {}): KubeObject => ({
    kind,
    metadata: { name: kind === "ConfigMap" ? "a-lacquer" : "a", namespace: "ns", labels, resourceVersion: rv },
    ...extra,
  });
  // the shard or manifest ConfigMap and the Deployment as the operator applied them
  for (const kind of ["ConfigMap", "Deployment"]) {
    const { namespace, name } = child(kind, "").metadata;
    await own.track(kind, `${namespace}/${name}`, "object", () => Promise.resolve(child(kind, "2")));
    controller.onChange(kind, child(kind, "1"), child(kind, "2"));
    deepEqual(await drain(controller), [], `the echo of the ${kind} apply`);
  }
  // the Gateway's Service as the operator created it, with the cluster IP the API server gave it: its addresses
  const service = child("Service", "2", { spec: { clusterIPs: ["10.96.0.7"] } });
  await own.track("Service", "ns/a", "object", () => Promise.resolve(service));
  controller.onChange("Service", undefined, service);
  deepEqual(await drain(controller), ["ns/a"], "the Service's echo: the Gateway's addresses are read from it");
  // someone scales the Deployment (kubectl scale): a change of someone else's, reconciled
  controller.onChange("Deployment", child("Deployment", "2"), child("Deployment", "3"));
  deepEqual(await drain(controller), ["ns/a"]);
  // the Gateway's status as the operator wrote it, then someone else's change of its spec
  const [gateway] = snapshot.gateways;
  const at = (rv: string, fields: Record<string, unknown> = {}) =>
    ({ ...gateway, metadata: { ...gateway.metadata, resourceVersion: rv }, ...fields }) as unknown as KubeObject;
  await own.track("Gateway", "ns/a", "status", () => Promise.resolve(at("5", { status: { conditions: [] } })));
  controller.onChange("Gateway", at("4"), at("5", { status: { conditions: [] } }));
  deepEqual(await drain(controller), [], "the echo of the Gateway's status write");
  controller.onChange("Gateway", at("5"), at("6", { spec: { ...gateway.spec, listeners: [] } }));
  deepEqual(await drain(controller), ["ns/a"]);
  controller.gateways.shutDown();
});

Deno.test("GatewayController: a ReferenceGrant created while a Gateway's first reconcile works wakes it again", async () => {
  // The Gateway's route reaches across namespaces; the grant that allows it comes while the reconcile, on a snapshot
  // taken before the grant, writes the Gateway's status. Its dependencies must already be recorded then.
  const crossing = parseSnapshot([
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GatewayClass",
      metadata: { name: "c" },
      spec: { controllerName: "lacquer.dev/gateway-controller" },
    },
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "a", namespace: "ns" },
      spec: { gatewayClassName: "c", listeners: [{ name: "h", port: 80, protocol: "HTTP" }] },
    },
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: { name: "r", namespace: "ns" },
      spec: { parentRefs: [{ name: "a" }], rules: [{ backendRefs: [{ name: "svc", namespace: "apps", port: 80 }] }] },
    },
  ]);
  let release = () => {};
  const writing = new Promise<void>((resolve) => release = resolve);
  let started = () => {};
  const statusStarted = new Promise<void>((resolve) => started = resolve);
  const controller = newController(crossing, {
    writeGateway: async () => {
      started();
      await writing;
      return true;
    },
  });
  controller.onChange("HTTPRoute", undefined, crossing.httpRoutes[0]);
  deepEqual(await drain(controller), ["ns/a"]);
  const reconcile = controller.reconcileGateway("ns/a", log);
  await statusStarted;
  const grant = { metadata: { name: "allow", namespace: "apps" } };
  controller.onChange("ReferenceGrant", undefined, grant);
  release();
  await reconcile;
  deepEqual(await drain(controller), ["ns/a"], "the grant's change reconciles the Gateway again");
  controller.gateways.shutDown();
  controller.routeStatuses.shutDown();
});

Deno.test("GatewayController lists a Gateway's routes from its index, a changed route in its place", async () => {
  const route = (name: string, path: string) => ({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name, namespace: "ns" },
    spec: { parentRefs: [{ name: "a" }], rules: [{ matches: [{ path: { type: "PathPrefix", value: path } }] }] },
  });
  const objects = parseSnapshot([
    ...snapshot.gatewayClasses.map((c) => ({ ...c, apiVersion: "gateway.networking.k8s.io/v1", kind: "GatewayClass" })),
    ...snapshot.gateways.map((g) => ({ ...g, apiVersion: "gateway.networking.k8s.io/v1", kind: "Gateway" })),
    route("r0", "/0"),
    route("r1", "/1"),
    route("r2", "/2"),
  ]);
  const cache = fakeCache(objects);
  const listed: HttpRoute[][] = [];
  const namespacesListed: string[][] = [];
  const snapshotOf = cache.snapshot.bind(cache);
  cache.snapshot = (gateways, routes, listenerSets, routeNamespaces) => {
    listed.push([...routes] as HttpRoute[]);
    namespacesListed.push([...routeNamespaces ?? ["(read from the routes)"]].sort());
    return snapshotOf(gateways, routes, listenerSets, routeNamespaces);
  };
  const controller = newController(objects, {}, undefined, cache);
  controller.enqueueAll();
  await drain(controller);
  const [r0, r1, r2] = objects.httpRoutes;
  const changed = parseSnapshot([route("r1", "/changed")]).httpRoutes[0];
  controller.onChange("HTTPRoute", r1, changed);
  await controller.reconcileGateway("ns/a", log);
  deepEqual(listed.pop()!.map((r) => r), [r0, changed, r2]);
  // moved to Gateway b: gone from a's list, even after an event that does not name its old version
  const moved = { ...changed, spec: { ...changed.spec, parentRefs: [{ name: "b" }] } };
  controller.onChange("HTTPRoute", undefined, moved);
  await controller.reconcileGateway("ns/a", log);
  deepEqual(listed.pop(), [r0, r2]);
  // the index keeps the Namespaces of the Gateway's routes as they come and go
  deepEqual(namespacesListed.pop(), ["ns"]);
  const elsewhere = parseSnapshot([{
    ...route("r3", "/3"),
    metadata: { name: "r3", namespace: "other" },
    spec: { parentRefs: [{ name: "a", namespace: "ns" }], rules: [] },
  }]).httpRoutes[0];
  controller.onChange("HTTPRoute", undefined, elsewhere);
  await controller.reconcileGateway("ns/a", log);
  deepEqual(namespacesListed.pop(), ["ns", "other"]);
  controller.onChange("HTTPRoute", elsewhere, undefined);
  await controller.reconcileGateway("ns/a", log);
  deepEqual(namespacesListed.pop(), ["ns"]);
});
