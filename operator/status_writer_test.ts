import { deepEqual, equal } from "node:assert/strict";
import type { KubeClient, KubeObject } from "../internal/kube/mod.ts";
import { createLogger } from "../internal/log.ts";
import { CONTROLLER_NAME } from "../internal/names.ts";
import { clusterAvailable, createTestNamespace, useCluster } from "../tests/cluster/mod.ts";
import { WATCHED_KINDS } from "./cluster_watcher.ts";
import { cachedForm } from "./kind_cache.ts";
import type { RouteStatusResult } from "./status/mod.ts";
import { sameStatus, StatusWriter } from "./status_writer.ts";

const GW = "/apis/gateway.networking.k8s.io/v1";
const log = createLogger({ sink: () => {} });
const OLD = "2026-01-01T00:00:00Z";

Deno.test("sameStatus() ignores lastTransitionTime and key order, nothing else", async (t) => {
  const condition = {
    type: "Accepted",
    status: "True",
    reason: "Accepted",
    lastTransitionTime: "2025-01-01T00:00:00Z",
  };
  const cases: { name: string; a: unknown; b: unknown; want: boolean }[] = [
    { name: "identical", a: { conditions: [condition] }, b: { conditions: [condition] }, want: true },
    {
      name: "another transition time",
      a: { conditions: [condition] },
      b: { conditions: [{ ...condition, lastTransitionTime: "2026-01-01T00:00:00Z" }] },
      want: true,
    },
    { name: "key order", a: { x: 1, y: { a: 1, b: 2 } }, b: { y: { b: 2, a: 1 }, x: 1 }, want: true },
    {
      name: "another status",
      a: { conditions: [condition] },
      b: { conditions: [{ ...condition, status: "False" }] },
      want: false,
    },
    { name: "list order matters", a: [1, 2], b: [2, 1], want: false },
    { name: "no status yet", a: undefined, b: { conditions: [] }, want: false },
  ];
  for (const c of cases) await t.step(c.name, () => equal(sameStatus(c.a, c.b), c.want));
});

Deno.test("StatusWriter.writeGateway() compares with what it wrote over a cached object the cache has not replaced yet", async () => {
  const written: unknown[] = [];
  const client = {
    request: (_path: string, options: { body: { status: unknown } }) => {
      written.push(options.body.status);
      return Promise.resolve({});
    },
  } as unknown as KubeClient;
  const writer = new StatusWriter(client, { log });
  const programmed = (status: string) => ({ conditions: [{ type: "Programmed", status }] });
  const cached: KubeObject = { metadata: { name: "gw", namespace: "ns" }, status: programmed("True") };
  equal(await writer.writeGateway(cached, programmed("True")), false);
  equal(await writer.writeGateway(cached, programmed("False")), true);
  equal(await writer.writeGateway(cached, programmed("False")), false, "written already");
  // the pods reported the new configuration before the write's event replaced the cached object
  equal(await writer.writeGateway(cached, programmed("True")), true);
  // the cache caught up: the new object is compared
  equal(await writer.writeGateway({ ...cached, status: programmed("True") }, programmed("True")), false);
  deepEqual(written, [programmed("False"), programmed("True")]);
});

/** A test against the local cluster's API server, with a writer that records its writes. */
function clusterTest(
  name: string,
  fn: (ctx: { client: KubeClient; ns: string; writer: StatusWriter; writes: string[] }) => Promise<void>,
): void {
  Deno.test({
    name,
    ignore: !clusterAvailable(),
    async fn() {
      const cluster = await useCluster();
      await using ns = await createTestNamespace(cluster);
      const writes: string[] = [];
      const writer = new StatusWriter(ns.client, { log, observe: (kind, op) => writes.push(`${kind}/${op}`) });
      await fn({ client: ns.client, ns: ns.name, writer, writes });
    },
  });
}

/** Creates the Gateway API object `kind` `name` in `ns` with `spec`, and returns it as stored. */
async function createGatewayApiObject(
  client: KubeClient,
  ns: string,
  kind: string,
  name: string,
  spec: unknown,
): Promise<KubeObject> {
  const path = `${GW}/namespaces/${ns}/${kind.toLowerCase()}s`;
  const metadata = { name, namespace: ns };
  await client.request(path, {
    method: "POST",
    body: { apiVersion: "gateway.networking.k8s.io/v1", kind, metadata, spec },
  });
  return await client.request<KubeObject>(`${path}/${name}`);
}

async function createRoute(client: KubeClient, ns: string): Promise<KubeObject> {
  const path = `${GW}/namespaces/${ns}/httproutes`;
  const route = await createGatewayApiObject(client, ns, "HTTPRoute", "r", {
    parentRefs: [{ name: "gw" }, { name: "theirs" }],
  });
  // Another controller's entry, which our writes must keep.
  const theirs = {
    parentRef: { group: "gateway.networking.k8s.io", kind: "Gateway", name: "theirs", namespace: ns },
    controllerName: "example.com/other",
    conditions: [{
      type: "Accepted",
      status: "True",
      reason: "Accepted",
      message: "",
      lastTransitionTime: "2026-01-01T00:00:00Z",
    }],
  };
  return await client.request<KubeObject>(`${path}/r/status`, {
    method: "PUT",
    body: { ...route, status: { parents: [theirs] } },
  });
}

function ourEntry(ns: string, reason: string): RouteStatusResult {
  return {
    key: `${ns}/r`,
    gateway: `${ns}/gw`,
    parents: [{
      parentRef: { group: "gateway.networking.k8s.io", kind: "Gateway", name: "gw" },
      controllerName: CONTROLLER_NAME,
      conditions: [{
        type: "Accepted",
        status: reason === "Accepted" ? "True" as const : "False" as const,
        reason,
        message: "",
        lastTransitionTime: "2026-01-01T00:00:00Z",
      }],
    }],
  };
}

clusterTest(
  "StatusWriter.writeRouteParents() replaces only our entries, skips no-ops and retries on a conflict",
  async ({ client, ns, writer, writes }) => {
    const stale = await createRoute(client, ns);
    const path = `${GW}/namespaces/${ns}/httproutes/r`;

    equal(await writer.writeRouteParents(stale, ourEntry(ns, "Accepted")), true);
    const written = await client.request<KubeObject>(path);
    const parents = (written.status as { parents: { controllerName: string }[] }).parents;
    deepEqual(parents.map((p) => p.controllerName), ["example.com/other", CONTROLLER_NAME]);

    // The same entries again, against the object as now stored: nothing to write.
    equal(await writer.writeRouteParents(written, ourEntry(ns, "Accepted")), false);
    // A change, offered with the stale copy (older resourceVersion): 409, re-read, written.
    equal(await writer.writeRouteParents(stale, ourEntry(ns, "NotAllowedByListeners")), true);
    const after = await client.request<KubeObject>(path);
    deepEqual(
      (after.status as { parents: { controllerName: string; conditions: { reason: string }[] }[] }).parents
        .map((p) => [p.controllerName, p.conditions[0].reason]),
      [["example.com/other", "Accepted"], [CONTROLLER_NAME, "NotAllowedByListeners"]],
    );
    deepEqual(writes, ["HTTPRoute/status", "HTTPRoute/status"]);
    equal(await writer.writeRouteParents(undefined, ourEntry(ns, "Accepted")), false, "a deleted route");
  },
);

clusterTest(
  "StatusWriter.writeRouteParents() writes from the cache's form of a route, which holds no spec, and the spec stays",
  async ({ client, ns, writer }) => {
    const stored = await createRoute(client, ns);
    const kind = WATCHED_KINDS.find((k) => k.kind === "HTTPRoute")!;
    const cached = cachedForm(kind, stored).stored;
    equal("spec" in cached, false);
    equal(await writer.writeRouteParents(cached, ourEntry(ns, "Accepted")), true);
    const written = await client.request<KubeObject>(`${GW}/namespaces/${ns}/httproutes/r`);
    deepEqual(written.spec, stored.spec);
    const parents = (written.status as { parents: { controllerName: string }[] }).parents;
    deepEqual(parents.map((p) => p.controllerName), ["example.com/other", CONTROLLER_NAME]);
    // a change offered with that (now stale) cached form: 409, re-read, written; the spec still stays
    equal(await writer.writeRouteParents(cached, ourEntry(ns, "NotAllowedByListeners")), true);
    deepEqual((await client.request<KubeObject>(`${GW}/namespaces/${ns}/httproutes/r`)).spec, stored.spec);
  },
);

clusterTest(
  "StatusWriter.writeGateway() applies status once and skips it while unchanged",
  async ({ client, ns, writer, writes }) => {
    const path = `${GW}/namespaces/${ns}/gateways`;
    const gateway = await createGatewayApiObject(client, ns, "Gateway", "gw", {
      gatewayClassName: "none",
      listeners: [{ name: "http", port: 80, protocol: "HTTP" }],
    });
    // Both conditions the CRD defaults, as the operator always writes them.
    const condition = { status: "False", message: "test", observedGeneration: 1, lastTransitionTime: OLD };
    const status = {
      conditions: [
        { ...condition, type: "Accepted", reason: "InvalidParameters" },
        { ...condition, type: "Programmed", reason: "Invalid" },
      ],
    };
    equal(await writer.writeGateway(gateway, status), true);
    const stored = await client.request<KubeObject>(`${path}/gw`);
    deepEqual((stored.status as typeof status).conditions, status.conditions);
    const later = { conditions: status.conditions.map((c) => ({ ...c, lastTransitionTime: "2026-02-01T00:00:00Z" })) };
    equal(await writer.writeGateway(stored, later), false, "only the transition time differs");
    deepEqual(writes, ["Gateway/status"]);
  },
);
