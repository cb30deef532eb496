import { deepEqual, equal } from "node:assert/strict";
import type { KubeObject } from "../internal/kube/mod.ts";
import { createLogger } from "../internal/log.ts";
import { CachePolicyController } from "./cache_policy_controller.ts";
import { fakeCache } from "./_test_fake_cache.ts";
import { parseSnapshot } from "./snapshot.ts";
import type { PolicyAncestor } from "./cache_policy/mod.ts";
import type { StatusWriter } from "./status_writer.ts";

const log = createLogger({ sink: () => {} });
const GROUP = "gateway.networking.k8s.io";

const snapshot = parseSnapshot([
  {
    apiVersion: `${GROUP}/v1`,
    kind: "GatewayClass",
    metadata: { name: "c" },
    spec: { controllerName: "lacquer.dev/gateway-controller" },
  },
  {
    apiVersion: `${GROUP}/v1`,
    kind: "Gateway",
    metadata: { name: "gw", namespace: "shop" },
    spec: { gatewayClassName: "c", listeners: [{ name: "http", port: 80, protocol: "HTTP" }] },
  },
  ...[["old", "2026-01-01T00:00:01Z"], ["new", "2026-01-01T00:00:02Z"]].map(([name, created]) => ({
    apiVersion: "lacquer.dev/v1alpha1",
    kind: "CachePolicy",
    metadata: { name, namespace: "shop", creationTimestamp: created, generation: 1 },
    spec: { targetRefs: [{ group: GROUP, kind: "Gateway", name: "gw" }] },
  })),
  {
    apiVersion: "lacquer.dev/v1alpha1",
    kind: "CachePolicy",
    metadata: { name: "elsewhere", namespace: "web" },
    spec: { targetRefs: [{ group: GROUP, kind: "HTTPRoute", name: "r" }] },
  },
]);

async function drain(controller: CachePolicyController): Promise<string[]> {
  const keys: string[] = [];
  while (controller.policies.length > 0) {
    const key = (await controller.policies.get())!;
    keys.push(key);
    controller.policies.done(key);
  }
  return keys.sort();
}

Deno.test("CachePolicyController enqueues the policies a change may affect and writes their computed status", async () => {
  const written: [string, PolicyAncestor[]][] = [];
  const status = {
    writeCachePolicy: (raw: KubeObject, ancestors: PolicyAncestor[]) => {
      written.push([raw.metadata.name, ancestors]);
      return Promise.resolve(true);
    },
  } as unknown as StatusWriter;
  const controller = new CachePolicyController({
    cache: fakeCache(snapshot),
    status,
    log,
    clock: () => new Date("2026-01-01T00:00:00Z"),
  });
  controller.onChange("CachePolicy", undefined, snapshot.cachePolicies[1]);
  deepEqual(await drain(controller), ["shop/new", "shop/old"], "a policy wakes its namespace (conflicts)");
  controller.onChange("HTTPRoute", undefined, { metadata: { name: "r", namespace: "web" } });
  deepEqual(await drain(controller), ["web/elsewhere"], "a route wakes its namespace's policies");
  controller.onChange("Gateway", undefined, snapshot.gateways[0]);
  deepEqual(await drain(controller), ["shop/new", "shop/old", "web/elsewhere"], "a Gateway wakes every policy");
  controller.onChange("Ingress", undefined, { metadata: { name: "i", namespace: "web" } });
  deepEqual(await drain(controller), ["web/elsewhere"], "an Ingress wakes its namespace's policies");
  controller.onChange("IngressClass", undefined, { metadata: { name: "lacquer" } });
  deepEqual(await drain(controller), ["shop/new", "shop/old", "web/elsewhere"], "an IngressClass wakes every policy");
  controller.onChange("Service", undefined, { metadata: { name: "s", namespace: "shop" } });
  deepEqual(await drain(controller), []);

  await controller.reconcile("shop/new");
  await controller.reconcile("web/elsewhere");
  await controller.reconcile("shop/gone");
  deepEqual(
    written.map(([name, ancestors]) => [name, ancestors.map((a) => a.conditions[0].reason)]),
    [["new", ["Conflicted"]], ["elsewhere", ["TargetNotFound"]]],
  );
  equal(written[0][1][0].ancestorRef.name, "gw");
  controller.policies.shutDown();
});
