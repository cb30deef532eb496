import { deepEqual } from "node:assert/strict";
import type { KubeObject } from "../internal/kube/mod.ts";
import { createLogger } from "../internal/log.ts";
import { fakeCache } from "./_test_fake_cache.ts";
import { cachePolicySchema } from "./cache_policy/mod.ts";
import type { ChildrenWriter } from "./children_writer.ts";
import { GatewayController } from "./gateway_controller.ts";
import { parseSnapshot } from "./snapshot.ts";
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

Deno.test("GatewayController.onChange() enqueues exactly the Gateways an object affects", async () => {
  const controller = new GatewayController({
    cache: fakeCache(snapshot),
    children: {
      sync: () => Promise.resolve({ writes: 0, conflicts: [] }),
      prune: () => Promise.resolve(0),
    } as unknown as ChildrenWriter,
    status: {
      writeGateway: () => Promise.resolve(false),
      writeRouteParents: () => Promise.resolve(false),
    } as unknown as StatusWriter,
    log,
    defaults: { image: "x" },
  });
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
