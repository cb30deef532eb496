import { deepEqual, equal, match, ok } from "node:assert/strict";
import { parse, stringify } from "yaml";
import { CONTROLLER_NAME, GATEWAY_NAME_LABEL, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from "../internal/names.ts";
import { ROUTING_HASH_ANNOTATION, VCL_HASH_ANNOTATION } from "../operator/children.ts";
import { installLacquerCrds } from "../tests/cluster/crd_installer.ts";
import { clusterAvailable, createTestNamespace, type TestNamespace, useCluster } from "../tests/cluster/mod.ts";
import { explainConfigSchema, statusConfigSchema } from "./options.ts";
import { runExplain } from "./run_explain.ts";
import { runStatus } from "./run_status.ts";

const GW = "gateway.networking.k8s.io";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, output: { stdout: (s: string) => out.push(s), stderr: (s: string) => err.push(s) } };
}

/** A Gateway of its own class with two routes, a CachePolicy, backends and an EndpointSlice; returns them as created. */
async function createShop(ns: TestNamespace): Promise<Record<string, unknown>[]> {
  const n = ns.name;
  const objects: [string, Record<string, unknown>][] = [
    [`/apis/${GW}/v1/gatewayclasses`, {
      apiVersion: `${GW}/v1`,
      kind: "GatewayClass",
      metadata: { name: n },
      spec: { controllerName: CONTROLLER_NAME },
    }],
    [`/apis/${GW}/v1/namespaces/${n}/gateways`, {
      apiVersion: `${GW}/v1`,
      kind: "Gateway",
      metadata: { name: "shop" },
      spec: { gatewayClassName: n, listeners: [{ name: "http", port: 80, protocol: "HTTP" }] },
    }],
    ...["catalog", "catalog-v2"].map((name): [string, Record<string, unknown>] => [
      `/api/v1/namespaces/${n}/services`,
      { apiVersion: "v1", kind: "Service", metadata: { name }, spec: { ports: [{ name: "http", port: 8080 }] } },
    ]),
    [`/apis/discovery.k8s.io/v1/namespaces/${n}/endpointslices`, {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: "catalog-abc", labels: { "kubernetes.io/service-name": "catalog" } },
      addressType: "IPv4",
      ports: [{ name: "http", port: 9000, protocol: "TCP" }],
      endpoints: [{ addresses: ["10.0.0.1"], conditions: { ready: true } }, {
        addresses: ["10.0.0.2"],
        conditions: { ready: false },
      }],
    }],
    [`/apis/${GW}/v1/namespaces/${n}/httproutes`, {
      apiVersion: `${GW}/v1`,
      kind: "HTTPRoute",
      metadata: { name: "catalog" },
      spec: {
        parentRefs: [{ name: "shop" }],
        hostnames: ["shop.example.com"],
        rules: [
          {
            name: "items",
            matches: [{ path: { type: "PathPrefix", value: "/catalog" } }],
            backendRefs: [{ name: "catalog", port: 8080, weight: 80 }, { name: "catalog-v2", port: 8080, weight: 20 }],
          },
        ],
      },
    }],
    [`/apis/${GW}/v1/namespaces/${n}/httproutes`, {
      apiVersion: `${GW}/v1`,
      kind: "HTTPRoute",
      metadata: { name: "fallback" },
      spec: { parentRefs: [{ name: "shop" }], rules: [{ backendRefs: [{ name: "catalog", port: 8080 }] }] },
    }],
    [`/apis/lacquer.dev/v1alpha1/namespaces/${n}/cachepolicies`, {
      apiVersion: "lacquer.dev/v1alpha1",
      kind: "CachePolicy",
      metadata: { name: "items" },
      spec: {
        targetRefs: [{ group: GW, kind: "HTTPRoute", name: "catalog", sectionName: "items" }],
        ttl: { default: "5m" },
      },
    }],
  ];
  const created = [];
  for (const [path, body] of objects) {
    const object = await ns.client.request<Record<string, unknown>>(path, { method: "POST", body });
    created.push({ ...object, apiVersion: body.apiVersion, kind: body.kind });
  }
  return created;
}

Deno.test({
  name: "explain on the live cluster gives what explain on the same objects in files gives",
  ignore: !clusterAvailable(),
  async fn() {
    const cluster = await useCluster();
    await using ns = await createTestNamespace(cluster);
    await installLacquerCrds(ns.client);
    const created = await createShop(ns);
    try {
      const args = {
        gateway: `${ns.name}/shop`,
        output: "yaml",
        method: "GET",
        url: "http://shop.example.com/catalog/shoes?page=2",
      };
      const live = capture();
      equal(
        await runExplain(explainConfigSchema.parse({ ...args, kubeconfig: cluster.kubeconfig }), live.output),
        0,
        live.err.join(""),
      );
      match(live.err.join("\n"), /reading https:\/\/[^\n]*\n[^]*listed Gateway: \d+\n/);
      const explanation = parse(live.out.join(""));
      equal(explanation.selected.route, `${ns.name}/catalog`);
      equal(explanation.selected.ruleName, "items");
      equal(explanation.candidates[0].route, `${ns.name}/fallback`);
      match(explanation.candidates[0].losesOn, /hostname/);
      deepEqual(explanation.backends.map((b: { share: string }) => b.share), ["80%", "20%"]);
      deepEqual(explanation.backends[0].endpoints, ["10.0.0.1:9000"], "the ready endpoint of the live EndpointSlice");
      equal(explanation.cache.cached, true);
      equal(explanation.cache.policy, `${ns.name}/items`);
      equal(explanation.cache.ttl.default, 300);
      // The same objects as files: the same explanation, through the same code.
      const file = await Deno.makeTempFile({ suffix: ".yaml" });
      const namespace = { apiVersion: "v1", kind: "Namespace", metadata: { name: ns.name } };
      await Deno.writeTextFile(file, [namespace, ...created].map((o) => stringify(o)).join("---\n"));
      const offline = capture();
      equal(await runExplain(explainConfigSchema.parse({ ...args, file: [file] }), offline.output), 0);
      deepEqual(explanation, parse(offline.out.join("")));
      await Deno.remove(file);

      const missing = capture();
      const config = explainConfigSchema.parse({ ...args, gateway: `${ns.name}/nope`, kubeconfig: cluster.kubeconfig });
      equal(await runExplain(config, missing.output), 1);
      match(missing.err.join(""), /not in the cluster/);
      const unreachable = capture();
      equal(
        await runExplain(explainConfigSchema.parse({ ...args, kubeconfig: "/nonexistent" }), unreachable.output),
        3,
      );
      match(unreachable.err.join(""), /lacquer explain: .*nonexistent/);
    } finally {
      await ns.client.request(`/apis/${GW}/v1/gatewayclasses/${ns.name}`, { method: "DELETE" });
    }
  },
});

Deno.test({
  name: "status summarises what the operator and the gateway pods reported and exits 4 on a problem",
  ignore: !clusterAvailable(),
  async fn() {
    const cluster = await useCluster();
    await using ns = await createTestNamespace(cluster);
    await installLacquerCrds(ns.client);
    await createShop(ns);
    const n = ns.name;
    try {
      const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
      const condition = (type: string, status: string, reason: string, message = "") => ({
        type,
        status,
        reason,
        message,
        lastTransitionTime: now,
        observedGeneration: 1,
      });
      const patch = (path: string, body: unknown) =>
        ns.client.request(path, { method: "PATCH", contentType: "application/merge-patch+json", body });
      await patch(`/apis/${GW}/v1/namespaces/${n}/gateways/shop/status`, {
        status: {
          addresses: [{ type: "IPAddress", value: "10.250.0.9" }],
          conditions: [
            condition("Accepted", "True", "Accepted"),
            condition("Programmed", "False", "Pending", "1 of 2 pods serve it"),
          ],
          listeners: [{
            name: "http",
            attachedRoutes: 2,
            supportedKinds: [{ group: GW, kind: "HTTPRoute" }],
            conditions: [condition("Accepted", "True", "Accepted"), condition("Programmed", "True", "Programmed")],
          }],
        },
      });
      await patch(`/apis/${GW}/v1/namespaces/${n}/httproutes/catalog/status`, {
        status: {
          parents: [{
            parentRef: { group: GW, kind: "Gateway", name: "shop" },
            controllerName: CONTROLLER_NAME,
            conditions: [condition("Accepted", "True", "Accepted"), condition("ResolvedRefs", "True", "ResolvedRefs")],
          }],
        },
      });
      await patch(`/apis/lacquer.dev/v1alpha1/namespaces/${n}/cachepolicies/items/status`, {
        status: {
          ancestors: [{
            ancestorRef: { group: GW, kind: "Gateway", namespace: n, name: "shop" },
            controllerName: CONTROLLER_NAME,
            conditions: [condition("Accepted", "False", "Conflicted", "an older policy targets it")],
          }],
        },
      });
      const managed = { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [GATEWAY_NAME_LABEL]: "shop" };
      await ns.client.request(`/api/v1/namespaces/${n}/configmaps`, {
        method: "POST",
        body: {
          metadata: {
            name: "shop-lacquer",
            labels: managed,
            annotations: { [ROUTING_HASH_ANNOTATION]: "a".repeat(64), [VCL_HASH_ANNOTATION]: "b".repeat(64) },
          },
        },
      });
      const out = capture();
      const config = statusConfigSchema.parse({ kubeconfig: cluster.kubeconfig, namespace: n });
      equal(await runStatus(config, out.output), 4);
      const text = out.out.join("");
      match(
        text,
        new RegExp(`${n}/shop +${n} +True +False \\(Pending\\) +10\\.250\\.0\\.9 +http\\(2\\) +aaaaaaaaaaaa +0/0/0`),
      );
      match(text, new RegExp(`${n}/catalog +shop\\.example\\.com +${n}/shop +True +True`));
      match(text, /PROBLEMS \(2\)/);
      match(text, new RegExp(`- Gateway ${n}/shop: Programmed=False \\(Pending\\): 1 of 2 pods serve it`));
      match(text, new RegExp(`- CachePolicy ${n}/items on Gateway ${n}/shop: Accepted=False \\(Conflicted\\)`));
      const json = capture();
      equal(await runStatus(statusConfigSchema.parse({ ...config, output: "json" }), json.output), 4);
      const summary = JSON.parse(json.out.join(""));
      deepEqual(summary.gateways.map((g: { name: string }) => g.name), [`${n}/shop`]);
      equal(summary.problems.length, 2);
      ok(
        !summary.routes.some((r: { name: string }) => r.name === `${n}/fallback`),
        "a route without our status is left out",
      );
      const unreachable = capture();
      equal(await runStatus(statusConfigSchema.parse({ kubeconfig: "/nonexistent" }), unreachable.output), 3);
    } finally {
      await ns.client.request(`/apis/${GW}/v1/gatewayclasses/${n}`, { method: "DELETE" });
    }
  },
});
