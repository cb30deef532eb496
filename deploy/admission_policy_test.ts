import { deepEqual, equal, match, ok } from "node:assert/strict";
import { parseAllDocuments, stringify } from "yaml";
import * as k8s from "@kubernetes/client-node";
import { createKubeClient, KubeApiError, type KubeClient } from "../internal/kube/mod.ts";
import { loadKubeConfig } from "../internal/kube/kubeconfig.ts";
import { SAFE_VARNISHD_PARAMETERS } from "../operator/varnishd_params.ts";
import { installLacquerCrds } from "../tests/cluster/crd_installer.ts";
import {
  clusterAvailable,
  clusterBinaries,
  createTestNamespace,
  eventually,
  runCommand,
  type TestNamespace,
  useCluster,
} from "../tests/cluster/mod.ts";
import { lacquerCacheDir } from "../tests/cluster/layout.ts";
import { helmBinary, helmTemplate } from "./render_manifests.ts";

const HELM_AVAILABLE = await Deno.stat(helmBinary()).then(() => true, () => false);
const LACQUER = "/apis/lacquer.dev/v1alpha1/namespaces";

async function rejection(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(() => undefined, (e: Error) => e);
  ok(err instanceof KubeApiError && err.code === 422, `expected a 422 refusal, got ${err}`);
  return err.message;
}

function dryRun(ns: TestNamespace, plural: string, kind: string, name: string, spec: unknown): Promise<unknown> {
  return ns.client.request(`${LACQUER}/${ns.name}/${plural}`, {
    method: "POST",
    query: { dryRun: "All" },
    body: { apiVersion: "lacquer.dev/v1alpha1", kind, metadata: { name }, spec },
  });
}

Deno.test({
  name: "GatewayParameters CRD refuses what the operator would not accept: varnishd arguments, storage, proxies, env",
  ignore: !clusterAvailable(),
  async fn() {
    await using ns = await createTestNamespace(await useCluster());
    await installLacquerCrds(ns.client);
    const params = (name: string, spec: unknown) => dryRun(ns, "gatewayparameters", "GatewayParameters", name, spec);
    // Every allowed parameter passes (the CRD's list is the operator's), in two objects: varnishdArgs holds 64 items.
    const names = [...SAFE_VARNISHD_PARAMETERS];
    for (const part of [names.slice(0, 30), names.slice(30)]) {
      await params("allowed", { varnishdArgs: part.flatMap((n) => ["-p", `${n}=1`]) });
    }
    await params("values", {
      varnishdArgs: ["-p", "thread_pool_max=500", "-p", "workspace_client=64k", "-p", "http_gzip_support=off"],
      storage: "main=malloc,1G",
      requests: { trustedProxies: ["10.0.0.0/8", "192.168.1.7", "fd00::/8"] },
    });
    match(await rejection(params("cc", { varnishdArgs: ["-p", "cc_command=sh -c id"] })), /allowed tuning parameter/);
    match(await rejection(params("odd", { varnishdArgs: ["thread_pool_max=5"] })), /allowed tuning parameter/);
    match(await rejection(params("path", { varnishdArgs: ["-p", "thread_pool_max=/tmp"] })), /allowed tuning/);
    match(await rejection(params("owned", { varnishdArgs: ["-f", "/x.vcl"] })), /flags the chaperone owns/);
    match(await rejection(params("file", { storage: "file,/tmp/cache,1g" })), /storage must be malloc/);
    match(await rejection(params("proxy", { requests: { trustedProxies: ["10.0.0.0/33"] } })), /IP address or a CIDR/);
    await params("env", {
      env: [{ name: "TZ", value: "UTC" }, { name: "MY_PATH" }, { name: "LACQUER_DRAIN_SECONDS", value: "50" }],
    });
    for (const name of ["LD_PRELOAD", "KUBECONFIG", "lacquer_keeper_socket", "POD_NAME", "DENO_DIR", "NODE_OPTIONS"]) {
      match(await rejection(params("env", { env: [{ name }] })), /env may not set variables/, name);
    }
  },
});

Deno.test({
  name: "CachePolicy and CacheInvalidation CRDs refuse combinations, targets and paths the operator cannot use",
  ignore: !clusterAvailable(),
  async fn() {
    await using ns = await createTestNamespace(await useCluster());
    await installLacquerCrds(ns.client);
    const targetRefs = [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", name: "r" }];
    const policy = (name: string, spec: Record<string, unknown>) =>
      dryRun(ns, "cachepolicies", "CachePolicy", name, { targetRefs, ...spec });
    await policy("forced", { ttl: { forced: "1m" }, allow: { noStore: true, methods: ["POST"], maxBodyBytes: 10 } });
    match(await rejection(policy("nostore", { allow: { noStore: true } })), /allow.noStore needs ttl.forced/);
    match(await rejection(policy("body", { allow: { maxBodyBytes: 10 } })), /maxBodyBytes only applies/);
    const ingress = { group: "networking.k8s.io", kind: "Ingress", name: "web" };
    await policy("ingress", { targetRefs: [ingress, ...targetRefs] });
    const wrongGroup = { ...ingress, group: "gateway.networking.k8s.io" };
    match(await rejection(policy("group", { targetRefs: [wrongGroup] })), /kind Ingress goes with group networking/);
    const routeGroup = { ...targetRefs[0], group: "networking.k8s.io" };
    match(await rejection(policy("route", { targetRefs: [routeGroup] })), /kind Ingress goes with group networking/);
    const section = { ...ingress, sectionName: "a" };
    match(await rejection(policy("section", { targetRefs: [section] })), /an Ingress target has no sectionName/);
    const invalidation = (name: string, spec: Record<string, unknown>) =>
      dryRun(ns, "cacheinvalidations", "CacheInvalidation", name, { hostname: "shop.example.com", ...spec });
    await invalidation("ok", { urls: ["/products/42"] });
    await invalidation("prefix", { prefixes: ["/products/"] });
    match(await rejection(invalidation("query", { urls: ["/p?id=4"] })), /absolute path without query/);
    match(await rejection(invalidation("relative", { prefixes: ["products/"] })), /a prefix is an absolute path/);
    match(await rejection(invalidation("wild", { hostname: "*.example.com", all: true })), /without wildcard or port/);
    match(await rejection(invalidation("port", { hostname: "shop.example.com:80", all: true })), /without wildcard/);
  },
});

/** The chart's ValidatingAdmissionPolicies of `template`, their bindings limited to one namespace and renamed for it. */
async function policiesFor(
  namespace: string,
  template = "templates/admission-policy.yaml",
  count = 4,
): Promise<Record<string, unknown>[]> {
  const rendered = await helmTemplate([], [template]);
  const docs = parseAllDocuments(rendered).map((d) => d.toJS() as Record<string, unknown>).filter(Boolean);
  equal(docs.length, count);
  return docs.map((doc) => {
    const meta = doc.metadata as { name: string };
    const spec = doc.spec as Record<string, unknown>;
    const renamed = { ...doc, metadata: { ...meta, name: `${namespace}-${meta.name}` } };
    if (doc.kind !== "ValidatingAdmissionPolicyBinding") return renamed;
    return {
      ...renamed,
      spec: {
        ...spec,
        policyName: `${namespace}-${spec.policyName}`,
        matchResources: { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } } },
      },
    };
  });
}

Deno.test({
  name: "the chart's ValidatingAdmissionPolicies warn in kubectl's output and store the object all the same",
  ignore: !clusterAvailable() || !HELM_AVAILABLE,
  async fn() {
    const cluster = await useCluster();
    await using ns = await createTestNamespace(cluster);
    await installLacquerCrds(ns.client);
    const dir = await Deno.makeTempDir();
    const kubectl = async (args: string[], objects: unknown[]) => {
      const file = `${dir}/objects.yaml`;
      await Deno.writeTextFile(file, objects.map((o) => stringify(o)).join("---\n"));
      return await runCommand(clusterBinaries(lacquerCacheDir(Deno.env)).kubectl, {
        args: ["--kubeconfig", cluster.kubeconfig, ...args, "-f", file],
      });
    };
    const policies = await policiesFor(ns.name);
    try {
      await kubectl(["apply"], policies);
      const route = (name: string, rules: unknown[]) => ({
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "HTTPRoute",
        metadata: { name, namespace: ns.name },
        spec: { parentRefs: [{ name: "gw" }], rules },
      });
      const a = { backendRefs: [{ name: "a", port: 80 }] };
      const b = { backendRefs: [{ name: "b", port: 80 }] };
      const api = { path: { type: "PathPrefix", value: "/api" } };
      const shadowed = route("shadowed", [{ ...a, matches: [api] }, {
        ...b,
        matches: [{ path: { type: "Exact", value: "/" } }, api],
      }]);
      // The binding takes effect a moment after it is created: the first create may not be checked yet.
      let stderr = "";
      await eventually(async () => {
        const out = await kubectl(["create", "--dry-run=server"], [shadowed]);
        stderr = out.stderr;
        match(stderr, /Warning: .*share an identical match \(PathPrefix \/api\)/);
      });
      match(stderr, /only the first of them ever receives those requests/);
      // Rules without matches both match PathPrefix / (the CRD's default).
      const defaults = await kubectl(["create"], [route("defaults", [a, b])]);
      match(defaults.stderr, /share an identical match \(PathPrefix \/\)/);
      const stored = await ns.client.request<{ metadata: { name: string } }>(
        `/apis/gateway.networking.k8s.io/v1/namespaces/${ns.name}/httproutes/defaults`,
      );
      equal(stored.metadata.name, "defaults");
      const distinct = await kubectl(["create", "--dry-run=server"], [
        route("distinct", [{ ...a, matches: [api] }, { ...b, matches: [{ ...api, method: "POST" }] }]),
      ]);
      deepEqual(distinct.stderr.match(/Warning:.*/g) ?? [], []);
      const policy = (name: string, key: unknown) => ({
        apiVersion: "lacquer.dev/v1alpha1",
        kind: "CachePolicy",
        metadata: { name, namespace: ns.name },
        spec: {
          targetRefs: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", name: "r" }],
          allow: { authorization: true },
          ...(key ? { key } : {}),
        },
      });
      await eventually(async () => {
        match((await kubectl(["create", "--dry-run=server"], [policy("shared", undefined)])).stderr, /every caller/);
      });
      const keyed = await kubectl(["create", "--dry-run=server"], [policy("keyed", { headers: ["authorization"] })]);
      deepEqual(keyed.stderr.match(/Warning:.*/g) ?? [], []);
    } finally {
      await kubectl(["delete", "--ignore-not-found"], policies);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** A client authenticated as a ServiceAccount by `token`. */
function tokenClient(kubeconfig: string, token: string): KubeClient {
  const base = loadKubeConfig({ kubeconfig });
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: base.clusters,
    users: [{ name: "sa", token }],
    contexts: [{ name: "sa", cluster: base.getCurrentCluster()!.name, user: "sa" }],
    currentContext: "sa",
  });
  return createKubeClient(kc);
}

Deno.test({
  name: "the chart's gateway pod policy lets a gateway ServiceAccount patch only its own Pod's annotations",
  ignore: !clusterAvailable() || !HELM_AVAILABLE,
  async fn() {
    const cluster = await useCluster();
    await using ns = await createTestNamespace(cluster);
    const api = `/api/v1/namespaces/${ns.name}`;
    const rbac = `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns.name}`;
    const admission = "/apis/admissionregistration.k8s.io/v1";
    const policies = await policiesFor(ns.name, "templates/gateway-pod-policy.yaml", 2);
    const path = (o: Record<string, unknown>) =>
      `${admission}/${
        o.kind === "ValidatingAdmissionPolicy" ? "validatingadmissionpolicies" : "validatingadmissionpolicybindings"
      }`;
    try {
      for (const policy of policies) await ns.client.request(path(policy), { method: "POST", body: policy });
      // The gateway's ServiceAccount (labelled as the operator labels it) and an application's, with the gateway Role's
      // pod rights.
      const managed = { "app.kubernetes.io/managed-by": "lacquer" };
      for (const [name, labels] of [["gw-lacquer", managed], ["app", {}]] as const) {
        await ns.client.request(`${api}/serviceaccounts`, { method: "POST", body: { metadata: { name, labels } } });
      }
      await ns.client.request(`${rbac}/roles`, {
        method: "POST",
        body: {
          metadata: { name: "pods" },
          rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "patch"] }],
        },
      });
      await ns.client.request(`${rbac}/rolebindings`, {
        method: "POST",
        body: {
          metadata: { name: "pods" },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "pods" },
          subjects: ["gw-lacquer", "app"].map((name) => ({ kind: "ServiceAccount", name, namespace: ns.name })),
        },
      });
      // Pods that are never scheduled: only their objects matter.
      const pod = async (name: string, serviceAccountName: string) =>
        await ns.client.request<{ metadata: { uid: string } }>(`${api}/pods`, {
          method: "POST",
          body: {
            metadata: { name, labels: { app: name } },
            spec: {
              serviceAccountName,
              schedulingGates: [{ name: "lacquer.dev/never" }],
              containers: [{ name: "c", image: "registry.invalid/none" }],
            },
          },
        });
      const token = async (sa: string, boundPod?: string, uid?: string) =>
        (await ns.client.request<{ status: { token: string } }>(`${api}/serviceaccounts/${sa}/token`, {
          method: "POST",
          body: {
            apiVersion: "authentication.k8s.io/v1",
            kind: "TokenRequest",
            spec: boundPod ? { boundObjectRef: { apiVersion: "v1", kind: "Pod", name: boundPod, uid } } : {},
          },
        })).status.token;
      const own = await pod("gw-a", "gw-lacquer");
      await pod("gw-b", "gw-lacquer");
      const appPod = await pod("app-c", "app");
      const gateway = tokenClient(cluster.kubeconfig, await token("gw-lacquer", "gw-a", own.metadata.uid));
      const unbound = tokenClient(cluster.kubeconfig, await token("gw-lacquer"));
      const app = tokenClient(cluster.kubeconfig, await token("app", "app-c", appPod.metadata.uid));
      const patch = (client: KubeClient, name: string, metadata: Record<string, unknown>) =>
        client.request(`${api}/pods/${name}`, {
          method: "PATCH",
          contentType: "application/merge-patch+json",
          body: { metadata },
        });
      const refused = async (promise: Promise<unknown>) => {
        const err = await promise.then(() => undefined, (e: Error) => e);
        ok(err instanceof KubeApiError, `expected a refusal, got ${err}`);
        return err.message;
      };
      const applied = { annotations: { "lacquer.dev/applied-routing-hash": "sha256:1" } };
      // The binding takes effect a moment after it is created.
      await eventually(async () => match(await refused(patch(gateway, "gw-b", applied)), /may only patch its own Pod/));
      await patch(gateway, "gw-a", applied);
      match(await refused(patch(gateway, "gw-a", { labels: { app: "other" } })), /only change its Pod's annotations/);
      match(await refused(patch(unbound, "gw-a", applied)), /its token is bound to none/);
      // Everyone else keeps the rights RBAC gives: the application's ServiceAccount patches any pod.
      await patch(app, "gw-b", { labels: { app: "other" } });
      const stored = await ns.client.request<{ metadata: { annotations?: Record<string, string> } }>(
        `${api}/pods/gw-a`,
      );
      equal(stored.metadata.annotations?.["lacquer.dev/applied-routing-hash"], "sha256:1");
    } finally {
      for (const policy of policies) {
        const name = (policy.metadata as { name: string }).name;
        await ns.client.request(`${path(policy)}/${name}`, { method: "DELETE" }).catch(() => undefined);
      }
    }
  },
});
