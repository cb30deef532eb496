/**
 * The namespace-scoped mode against the real API server: the operator runs as a ServiceAccount holding only the RBAC
 * the chart renders for `scope.namespaces` (a ClusterRole of cluster-scoped reads and a Role in the one watched
 * namespace), with `--watch-namespaces`. Its caches sync with those rights, it programs the Gateway and route of the
 * watched namespace, and leaves the ones of another namespace untouched.
 */
import { equal, ok } from "node:assert/strict";
import type { KubeObject } from "../internal/kube/mod.ts";
import {
  clusterAvailable,
  createTestNamespace,
  eventually,
  freePort,
  PAUSE_IMAGE,
  useCluster,
} from "../tests/cluster/mod.ts";
import { startOperatorProcess } from "../tests/stack/operator_process.ts";
import { createGatewayClass, GW } from "./_test_operator.ts";
import { GATEWAY_POD_CLUSTER_ROLE } from "./children.ts";
import { installLacquerCrds } from "../tests/cluster/crd_installer.ts";
import { createKubeClient, loadKubeCredentials } from "../internal/kube/mod.ts";
import { applyRenderedRbac, HELM_AVAILABLE, RBAC, serviceAccountKubeconfig, statusOf } from "./_test_chart_rbac.ts";

type Condition = { type: string; status: string; reason?: string; message?: string };

// What the Gateway CRD defaults a new Gateway's conditions to, before any controller writes them.
const UNTOUCHED = "Waiting for controller";

const gateway = (cls: string) => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "Gateway",
  metadata: { name: "gw" },
  spec: {
    gatewayClassName: cls,
    listeners: [{ name: "http", port: 80, protocol: "HTTP", allowedRoutes: { namespaces: { from: "Same" } } }],
  },
});
const route = {
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "HTTPRoute",
  metadata: { name: "r" },
  spec: { parentRefs: [{ name: "gw" }], rules: [{ backendRefs: [{ name: "web", port: 80 }] }] },
};

Deno.test({
  name: "with only the chart's namespaced RBAC and --watch-namespaces the operator programs its namespace only",
  ignore: !clusterAvailable() || !HELM_AVAILABLE,
  async fn() {
    const cluster = await useCluster();
    await using watched = await createTestNamespace(cluster);
    await using other = await createTestNamespace(cluster);
    const client = watched.client;
    const cls = `lacquer-${watched.name}`;
    await createGatewayClass(client, cls);
    const removeRbac = await applyRenderedRbac(client, watched.name, `lacquer-op-${watched.name}`, [
      `scope.namespaces={${watched.name}}`,
    ]);
    const kubeconfig = await serviceAccountKubeconfig(client, cluster.kubeconfig, watched.name);
    for (const ns of [watched.name, other.name]) {
      await client.request(`${GW}/namespaces/${ns}/gateways`, { method: "POST", body: gateway(cls) });
      await client.request(`${GW}/namespaces/${ns}/httproutes`, { method: "POST", body: route });
    }
    const logFile = await Deno.makeTempFile({ prefix: "operator-", suffix: ".log" });
    const operator = startOperatorProcess({
      kubeconfig,
      logFile,
      port: freePort(2),
      args: ["--gateway-image", PAUSE_IMAGE, "--gateway-class", cls, "--watch-namespaces", watched.name],
    });
    let failed = true;
    try {
      await eventually(async () => {
        const gw = await client.request<KubeObject>(`${GW}/namespaces/${watched.name}/gateways/gw`);
        const conditions = (gw.status as { conditions?: Condition[] }).conditions ?? [];
        equal(conditions.find((c) => c.type === "Accepted")?.status, "True");
        ok(conditions.some((c) => c.type === "Programmed" && c.message !== UNTOUCHED), "Programmed reported");
        const r = await client.request<KubeObject>(`${GW}/namespaces/${watched.name}/httproutes/r`);
        const parents = (r.status as { parents?: { conditions: Condition[] }[] } | undefined)?.parents ?? [];
        equal(parents[0]?.conditions.find((c) => c.type === "Accepted")?.status, "True");
        await client.request(`/apis/apps/v1/namespaces/${watched.name}/deployments/gw`);
      }, { timeoutMs: 60_000 });
      // The operator has long reconciled everything it sees: the other namespace's objects are as they were created.
      const gw = await client.request<KubeObject>(`${GW}/namespaces/${other.name}/gateways/gw`);
      const conditions = (gw.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];
      ok(conditions.every((c) => c.message === UNTOUCHED), JSON.stringify(conditions));
      const r = await client.request<KubeObject>(`${GW}/namespaces/${other.name}/httproutes/r`);
      equal((r.status as { parents?: unknown[] } | undefined)?.parents?.length ?? 0, 0);
      const children = await client.request<{ items: unknown[] }>(`/apis/apps/v1/namespaces/${other.name}/deployments`);
      equal(children.items.length, 0);
      const log = await Deno.readTextFile(logFile);
      ok(!/forbidden/i.test(log), "no request was refused");
      failed = false;
    } finally {
      const status = await operator.stop(30_000);
      if (failed) console.error(await Deno.readTextFile(logFile));
      await Deno.remove(logFile);
      await Deno.remove(kubeconfig);
      await removeRbac();
      await client.request(`${GW}/gatewayclasses/${cls}`, { method: "DELETE" }).catch(() => {});
      equal(status.code, 0, "operator exits 0 on SIGTERM");
    }
  },
});

Deno.test({
  name: "the chart's operator RBAC binds its gateways' pod ClusterRole but no other, and patches no pod itself",
  ignore: !clusterAvailable() || !HELM_AVAILABLE,
  async fn() {
    const cluster = await useCluster();
    await using ns = await createTestNamespace(cluster);
    const admin = ns.client;
    await installLacquerCrds(admin);
    const removeRbac = await applyRenderedRbac(admin, ns.name, `lacquer-op-${ns.name}`, [
      `scope.namespaces={${ns.name}}`,
    ]);
    const kubeconfig = await serviceAccountKubeconfig(admin, cluster.kubeconfig, ns.name);
    try {
      const op = createKubeClient(await loadKubeCredentials({ kubeconfig }));
      const api = `/api/v1/namespaces/${ns.name}`;
      await admin.request(`${api}/pods`, {
        method: "POST",
        body: {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: "app" },
          spec: { containers: [{ name: "app", image: PAUSE_IMAGE }] },
        },
      });
      const binding = (name: string, role: string) =>
        op.request(`${RBAC}/namespaces/${ns.name}/rolebindings`, {
          method: "POST",
          body: {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "RoleBinding",
            metadata: { name },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
            subjects: [{ kind: "ServiceAccount", name: "gw-lacquer", namespace: ns.name }],
          },
        });
      // What a gateway needs, the operator may hand out...
      equal(await statusOf(binding("gw-lacquer-pod", GATEWAY_POD_CLUSTER_ROLE.metadata.name)), 200);
      // ...and nothing else: binding any other ClusterRole would be an escalation.
      equal(await statusOf(binding("escalate-admin", "admin")), 403);
      equal(await statusOf(binding("escalate-edit", "edit")), 403);
      // It reads pods, and may not change one (only gateways patch, and only their own Pod's annotations).
      equal(await statusOf(op.request(`${api}/pods/app`)), 200);
      const patch = op.request(`${api}/pods/app`, {
        method: "PATCH",
        contentType: "application/merge-patch+json",
        body: { metadata: { annotations: { "lacquer.dev/test": "x" } } },
      });
      equal(await statusOf(patch), 403);
    } finally {
      await Deno.remove(kubeconfig);
      await removeRbac();
    }
  },
});
