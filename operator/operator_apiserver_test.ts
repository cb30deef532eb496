/**
 * The operator against the real apiserver of the local cluster: it runs as a subprocess (`lacquer operator`) with
 * leader election on, and the tests assert the state of the world through the API.
 */
import { deepEqual, equal, match, notEqual, ok } from "node:assert/strict";
import { type KubeClient, type KubeObject } from "../internal/kube/mod.ts";
import {
  APPLIED_ROUTING_ANNOTATION,
  APPLIED_VCL_ANNOTATION,
  gatewayChildName,
  gatewayObjectName,
} from "../internal/names.ts";
import { installLacquerCrds } from "../tests/cluster/crd_installer.ts";
import {
  clusterAvailable,
  consistently,
  createTestNamespace,
  ECHO_IMAGE,
  eventually,
  kubectl,
  PAUSE_IMAGE,
  selfSignedCertificate,
  type TestCluster,
  useCluster,
} from "../tests/cluster/mod.ts";
import { createGatewayClass, GW, startTestOperator } from "./_test_operator.ts";
import { adminTokenFromSecret, adminTokenSecretName } from "./admin_token.ts";
import { ROUTING_HASH_ANNOTATION, VCL_HASH_ANNOTATION } from "./children.ts";

const ROOT = new URL("../", import.meta.url).pathname;

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
}

function condition(obj: KubeObject, type: string): Condition | undefined {
  const conditions = (obj.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];
  return conditions.find((c) => c.type === type);
}

async function startOperator(cluster: TestCluster, namespace: string, cls: string, env?: Record<string, string>) {
  const { process: operator, logFile, metricsUrl } = await startTestOperator({
    kubeconfig: cluster.kubeconfig,
    leaseNamespace: namespace,
    gatewayClass: cls,
    env,
  });
  return {
    metricsUrl,
    async stop(failed: boolean) {
      // An operator that exited on its own is reported by the exit code check below, with its log.
      const status = await operator.stop(30_000);
      if (failed || status.code !== 0) console.error(await Deno.readTextFile(logFile));
      await Deno.remove(logFile);
      equal(status.code, 0, "operator exits 0 on SIGTERM");
    },
  };
}

interface WithOperatorOptions {
  /** Environment of the operator process. */
  env?: Record<string, string>;
  /** Runs in the test namespace before the operator starts. */
  prepare?: (client: KubeClient, ns: string) => Promise<void>;
}

async function withOperator(
  fn: (ctx: { client: KubeClient; ns: string; cls: string; metricsUrl: string }) => Promise<void>,
  options: WithOperatorOptions = {},
): Promise<void> {
  const cluster = await useCluster();
  await using ns = await createTestNamespace(cluster);
  await installLacquerCrds(ns.client);
  const cls = `lacquer-${ns.name}`;
  await createGatewayClass(ns.client, cls);
  await options.prepare?.(ns.client, ns.name);
  const operator = await startOperator(cluster, ns.name, cls, options.env);
  let failed = true;
  try {
    await fn({ client: ns.client, ns: ns.name, cls, metricsUrl: operator.metricsUrl });
    failed = false;
  } finally {
    // Delete Gateways while the operator runs, then the class.
    await ns.client.request(`${GW}/namespaces/${ns.name}/gateways`, { method: "DELETE" }).catch(() => {});
    await operator.stop(failed);
    await ns.client.request(`${GW}/gatewayclasses/${cls}`, { method: "DELETE" }).catch(() => {});
  }
}

function gateway(ns: string, cls: string, name: string, port = 80) {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: { name, namespace: ns },
    spec: { gatewayClassName: cls, listeners: [{ name: "http", port, protocol: "HTTP" }] },
  };
}

function route(ns: string, name: string, gw: string, path: string, backend = "web") {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name, namespace: ns },
    spec: {
      parentRefs: [{ name: gw }],
      rules: [{
        matches: [{ path: { type: "PathPrefix", value: path } }],
        backendRefs: [{ name: backend, port: 8080 }],
      }],
    },
  };
}

const service = (ns: string, name: string) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: ns },
  spec: { ports: [{ port: 8080 }] },
});

/** The HTTPRoute "cross" of Gateway "gw" in `ns`, to Service "api" of namespace `other`. */
function crossRoute(ns: string, other: string) {
  const cross = route(ns, "cross", "gw", "/api");
  (cross.spec.rules[0].backendRefs[0] as Record<string, unknown>) = { name: "api", namespace: other, port: 8080 };
  return cross;
}

/** The reason of the ResolvedRefs condition of HTTPRoute "cross" in `ns` (its first parent). */
async function crossResolvedRefs(client: KubeClient, ns: string): Promise<string> {
  const r = await client.request<KubeObject>(`${GW}/namespaces/${ns}/httproutes/cross`);
  return (r.status as { parents: { conditions: Condition[] }[] }).parents[0].conditions[1].reason;
}

/** Lets HTTPRoutes of `ns` refer to Services of `other` (ReferenceGrant "allow"). */
async function grantServices(client: KubeClient, ns: string, other: string): Promise<void> {
  await client.request(`${GW}/namespaces/${other}/referencegrants`, {
    method: "POST",
    body: {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "ReferenceGrant",
      metadata: { name: "allow", namespace: other },
      spec: {
        from: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: ns }],
        to: [{ group: "", kind: "Service" }],
      },
    },
  });
}

/** The sum of the operator's metric `name` (a counter) over the series whose labels include `labels`. */
async function counted(metricsUrl: string, name: string, labels = ""): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  return text.split("\n").filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .filter((l) => l.includes(labels))
    .reduce((sum, l) => sum + Number(l.split(" ").pop()), 0);
}

/** The API writes the operator made. */
const writes = (metricsUrl: string) => counted(metricsUrl, "lacquer_operator_writes_total");

/** The reconciles of one of the operator's controllers that finished, whatever their outcome. */
const reconciles = (metricsUrl: string, controller: string) =>
  counted(metricsUrl, "lacquer_operator_reconcile_total", `controller="${controller}"`);

Deno.test({
  name: "operator creates the admin token Secret once: random, mounted, kept across reconciles, new when deleted",
  ignore: !clusterAvailable(),
  async fn() {
    await withOperator(async ({ client, ns, cls }) => {
      await client.request(`/api/v1/namespaces/${ns}/services`, { method: "POST", body: service(ns, "web") });
      await client.request(`${GW}/namespaces/${ns}/gateways`, { method: "POST", body: gateway(ns, cls, "gw") });
      await client.request(`${GW}/namespaces/${ns}/httproutes`, { method: "POST", body: route(ns, "r1", "gw", "/a") });
      const secretPath = `/api/v1/namespaces/${ns}/secrets/${adminTokenSecretName("gw")}`;
      const readSecret = () => client.request<KubeObject & { type: string; data?: Record<string, string> }>(secretPath);
      const first = await eventually(readSecret);
      equal(first.type, "Opaque");
      const token = adminTokenFromSecret(first)!;
      match(token, /^[A-Za-z0-9_-]{43}$/);
      equal((first.metadata.ownerReferences as { name: string }[])[0].name, "gw");
      equal(first.metadata.labels?.["gateway.networking.k8s.io/gateway-name"], "gw");
      const deploymentPath = `/apis/apps/v1/namespaces/${ns}/deployments/gw`;
      // deno-lint-ignore no-explicit-any
      const pod = (await eventually(() => client.request<any>(deploymentPath))).spec.template.spec;
      deepEqual(pod.volumes.find((v: { name: string }) => v.name === "admin-token"), {
        name: "admin-token",
        secret: { secretName: "gw-lacquer-admin", defaultMode: 420 },
      });
      ok(!JSON.stringify(pod).includes(token), "the token is not in the pod spec");

      // Reconciles that rewrite other children (a route, a listener port) leave the Secret as it is.
      await client.request(`${GW}/namespaces/${ns}/httproutes`, { method: "POST", body: route(ns, "r2", "gw", "/b") });
      await client.request(`${GW}/namespaces/${ns}/gateways/gw`, {
        method: "PATCH",
        contentType: "application/merge-patch+json",
        body: { spec: { listeners: [{ name: "http", port: 8080, protocol: "HTTP" }] } },
      });
      await eventually(async () => {
        // deno-lint-ignore no-explicit-any
        const d = await client.request<any>(deploymentPath);
        ok(JSON.stringify(d.spec.template.spec.containers[0].ports).includes("8080"));
      });
      const kept = await readSecret();
      equal(kept.metadata.resourceVersion, first.metadata.resourceVersion);
      equal(adminTokenFromSecret(kept), token);

      // Deleted, it comes back with a new token.
      await client.request(secretPath, { method: "DELETE" });
      const again = await eventually(async () => {
        const s = await readSecret();
        notEqual(s.metadata.uid, first.metadata.uid);
        return s;
      });
      match(adminTokenFromSecret(again)!, /^[A-Za-z0-9_-]{43}$/);
      notEqual(adminTokenFromSecret(again), token);
    });
  },
});

Deno.test({
  name: "a Gateway of 250 characters with dots gets children the apiserver accepts, found again by their labels",
  ignore: !clusterAvailable(),
  async fn() {
    await withOperator(async ({ client, ns, cls }) => {
      const name = `${"long.".repeat(49)}gw`;
      await client.request(`/api/v1/namespaces/${ns}/services`, { method: "POST", body: service(ns, "web") });
      await client.request(`${GW}/namespaces/${ns}/gateways`, { method: "POST", body: gateway(ns, cls, name) });
      await client.request(`${GW}/namespaces/${ns}/httproutes`, { method: "POST", body: route(ns, "r1", name, "/a") });
      const object = gatewayObjectName(name);
      match(object, /^long-long-[-a-z]+-[0-9a-f]{8}$/);
      type Deployment = { spec: { template: { metadata: { annotations: Record<string, string> } } } };
      const deployment = await eventually(() =>
        client.request<Deployment>(`/apis/apps/v1/namespaces/${ns}/deployments/${object}`)
      );
      equal(deployment.spec.template.metadata.annotations["lacquer.dev/gateway-name"], name);
      await eventually(() => client.request(`/api/v1/namespaces/${ns}/services/${object}`));
      await eventually(() => client.request(`/api/v1/namespaces/${ns}/configmaps/${gatewayChildName(name)}`));
      await eventually(() => client.request(`/api/v1/namespaces/${ns}/secrets/${adminTokenSecretName(name)}`));
      await eventually(async () => {
        const gw = await client.request<KubeObject>(`${GW}/namespaces/${ns}/gateways/${name}`);
        equal(condition(gw, "Accepted")?.status, "True");
        // deno-lint-ignore no-explicit-any
        equal((gw.status as any).listeners[0].attachedRoutes, 1);
        // Its own children are not taken for someone else's.
        notEqual(condition(gw, "Programmed")?.reason, "Invalid");
      });
    });
  },
});

Deno.test({
  name: "operator never takes over an object that holds a child's name: the Gateway says so and its deletion " +
    "leaves the object",
  ignore: !clusterAvailable(),
  async fn() {
    await withOperator(async ({ client, ns, cls }) => {
      // The application's Service "web", and a Gateway "web" whose own Service would have that name.
      const appService = { ...service(ns, "web"), spec: { selector: { app: "web" }, ports: [{ port: 8080 }] } };
      await client.request(`/api/v1/namespaces/${ns}/services`, { method: "POST", body: appService });
      await client.request(`${GW}/namespaces/${ns}/gateways`, { method: "POST", body: gateway(ns, cls, "web") });
      const gwPath = `${GW}/namespaces/${ns}/gateways/web`;
      await eventually(async () => {
        const gw = await client.request<KubeObject>(gwPath);
        const programmed = condition(gw, "Programmed") as Condition & { message: string };
        equal(programmed?.reason, "Invalid");
        match(programmed.message, new RegExp(`Service "${ns}/web" \\(not managed by Lacquer\\)`));
      });
      await eventually(async () => {
        const events = await client.request<{ items: { reason: string; note: string; regarding: { name: string } }[] }>(
          `/apis/events.k8s.io/v1/namespaces/${ns}/events`,
        );
        ok(events.items.some((e) => e.reason === "ChildConflict" && e.regarding.name === "web"), "a Warning Event");
      });
      // The other children are there; the Service is as the application made it.
      await eventually(() => client.request(`/apis/apps/v1/namespaces/${ns}/deployments/web`));
      // deno-lint-ignore no-explicit-any
      const untouched = (s: any) => {
        deepEqual(s.metadata.labels ?? {}, {});
        equal(s.metadata.ownerReferences, undefined);
        deepEqual(s.spec.selector, { app: "web" });
        deepEqual(s.spec.ports.map((p: { port: number }) => p.port), [8080]);
      };
      const servicePath = `/api/v1/namespaces/${ns}/services/web`;
      await consistently(async () => untouched(await client.request(servicePath)), { timeoutMs: 3000 });

      // Deleting the Gateway removes its children and not the Service.
      await client.request(gwPath, { method: "DELETE" });
      await eventually(async () => {
        const d = await client.request(`/apis/apps/v1/namespaces/${ns}/deployments/web`).catch(() => undefined);
        equal(d, undefined);
      }, { timeoutMs: 60_000 });
      await consistently(async () => untouched(await client.request(servicePath)), { timeoutMs: 3000 });
    });
  },
});

Deno.test({
  name: "gateway pods are admitted under Pod Security restricted, two by default with a PodDisruptionBudget, " +
    "and an HPA's Deployment keeps the HPA's count",
  ignore: !clusterAvailable(),
  async fn() {
    await withOperator(async ({ client, ns, cls }) => {
      await client.request(`/api/v1/namespaces/${ns}`, {
        method: "PATCH",
        contentType: "application/merge-patch+json",
        body: { metadata: { labels: { "pod-security.kubernetes.io/enforce": "restricted" } } },
      });
      // An HPA that scales the Deployment of Gateway "scaled" (no metrics server: it never acts, the count stays).
      await client.request(`/apis/autoscaling/v2/namespaces/${ns}/horizontalpodautoscalers`, {
        method: "POST",
        body: {
          apiVersion: "autoscaling/v2",
          kind: "HorizontalPodAutoscaler",
          metadata: { name: "scaled", namespace: ns },
          spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "scaled" }, maxReplicas: 5 },
        },
      });
      for (const name of ["gw", "scaled"]) {
        await client.request(`${GW}/namespaces/${ns}/gateways`, { method: "POST", body: gateway(ns, cls, name) });
      }
      // The ReplicaSet controller creates the pods only if the restricted profile admits them.
      await eventually(async () => {
        const pods = await client.request<{ items: KubeObject[] }>(`/api/v1/namespaces/${ns}/pods`, {
          query: { labelSelector: "gateway.networking.k8s.io/gateway-name=gw" },
        });
        equal(pods.items.length, 2);
      }, { timeoutMs: 60_000 });
      const pdb = await eventually(() =>
        client.request<{ spec: { maxUnavailable: number } }>(`/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/gw`)
      );
      equal(pdb.spec.maxUnavailable, 1);
      // deno-lint-ignore no-explicit-any
      const scaled = await eventually(() => client.request<any>(`/apis/apps/v1/namespaces/${ns}/deployments/scaled`));
      equal(scaled.spec.replicas, 1, "the API's default: the operator set none");
      const ours = scaled.metadata.managedFields.filter((f: { manager: string }) => f.manager === "lacquer-operator");
      ok(ours.length > 0 && !JSON.stringify(ours).includes("f:replicas"), "the operator owns no replicas");
    });
  },
});

Deno.test({
  name: "operator programs a Gateway: class status, children, routing.json, route status, Programmed, cleanup " +
    "of every child when the Gateway moves class or is deleted",
  ignore: !clusterAvailable(),
  async fn() {
    await withOperator(async ({ client, ns, cls, metricsUrl }) => {
      await client.request(`/api/v1/namespaces/${ns}/services`, { method: "POST", body: service(ns, "web") });
      await client.request(`${GW}/namespaces/${ns}/gateways`, { method: "POST", body: gateway(ns, cls, "gw") });
      await client.request(`${GW}/namespaces/${ns}/httproutes`, { method: "POST", body: route(ns, "r1", "gw", "/a") });
      await client.request(`${GW}/namespaces/${ns}/httproutes`, {
        method: "POST",
        body: route(ns, "r2", "gw", "/b", "missing"),
      });

      await eventually(async () => {
        const c = await client.request<KubeObject>(`${GW}/gatewayclasses/${cls}`);
        equal(condition(c, "Accepted")?.status, "True");
        ok(((c.status as { supportedFeatures?: unknown[] }).supportedFeatures ?? []).length > 0);
      });
      const cm = await eventually(async () => {
        const cm = await client.request<KubeObject & { data: Record<string, string> }>(
          `/api/v1/namespaces/${ns}/configmaps/gw-lacquer`,
        );
        const routing = JSON.parse(cm.data["routing.json"]);
        equal(routing.vhosts["*"].routes.length, 2);
        ok(cm.data["main.vcl"].startsWith("vcl 4.1;"));
        return cm;
      });
      for (const path of [`/apis/apps/v1/namespaces/${ns}/deployments/gw`, `/api/v1/namespaces/${ns}/services/gw`]) {
        await eventually(() => client.request(path));
      }
      await eventually(async () => {
        const r1 = await client.request<KubeObject>(`${GW}/namespaces/${ns}/httproutes/r1`);
        const r2 = await client.request<KubeObject>(`${GW}/namespaces/${ns}/httproutes/r2`);
        const parents = (o: KubeObject) => (o.status as { parents: { conditions: Condition[] }[] }).parents;
        deepEqual(parents(r1)[0].conditions.map((c) => [c.type, c.status, c.reason]), [
          ["Accepted", "True", "Accepted"],
          ["ResolvedRefs", "True", "ResolvedRefs"],
        ]);
        deepEqual(parents(r2)[0].conditions.map((c) => [c.type, c.status, c.reason]), [
          ["Accepted", "True", "Accepted"],
          ["ResolvedRefs", "False", "BackendNotFound"],
        ]);
      });
      const gwPath = `${GW}/namespaces/${ns}/gateways/gw`;
      await eventually(async () => {
        const gw = await client.request<KubeObject>(gwPath);
        deepEqual(condition(gw, "Accepted")?.status, "True");
        equal(condition(gw, "Programmed")?.reason, "Pending");
        const listener = (gw.status as { listeners: { attachedRoutes: number }[] }).listeners[0];
        equal(listener.attachedRoutes, 2);
      });

      // Stand in for the chaperone: a ready pod of the Gateway that reports the current hashes.
      const annotations = cm.metadata.annotations!;
      await client.request(`/api/v1/namespaces/${ns}/pods`, {
        method: "POST",
        body: {
          apiVersion: "v1",
          kind: "Pod",
          metadata: {
            name: "stand-in",
            namespace: ns,
            labels: { "app.kubernetes.io/managed-by": "lacquer", "gateway.networking.k8s.io/gateway-name": "gw" },
            annotations: {
              [APPLIED_ROUTING_ANNOTATION]: annotations[ROUTING_HASH_ANNOTATION],
              [APPLIED_VCL_ANNOTATION]: annotations[VCL_HASH_ANNOTATION],
            },
          },
          spec: { containers: [{ name: "c", image: PAUSE_IMAGE }] },
        },
      });
      await eventually(async () => {
        const gw = await client.request<KubeObject>(gwPath);
        equal(condition(gw, "Programmed")?.status, "True");
        equal(condition(gw, "Programmed")?.observedGeneration, gw.metadata.generation);
        ok(((gw.status as { addresses?: unknown[] }).addresses ?? []).length > 0, "an address is published");
      }, { timeoutMs: 60_000 });

      // A no-op change (an unrelated annotation) makes no writes and leaves the ConfigMap untouched. Writes the steps
      // above cause (the Gateway's pods starting, the stand-in's status, a route status recheck) may come at any time
      // on a loaded node, so a quiet second proves nothing: each attempt counts the writes from before one no-op change
      // until a reconcile of the Gateway has finished after it (the operator's reconcile counter) and 1.5 s more, and
      // an attempt that saw a write is repeated with another annotation value. A no-op reconcile that writes fails
      // every attempt.
      let attempt = 0;
      await eventually(async () => {
        const before = await writes(metricsUrl);
        const reconciled = await reconciles(metricsUrl, "gateway");
        await client.request(gwPath, {
          method: "PATCH",
          contentType: "application/merge-patch+json",
          body: { metadata: { annotations: { touched: String(++attempt) } } },
        });
        await eventually(async () => ok(await reconciles(metricsUrl, "gateway") > reconciled, "a reconcile after it"));
        await consistently(async () => equal(await writes(metricsUrl), before, "no writes for a no-op reconcile"), {
          timeoutMs: 1500,
        });
      }, { timeoutMs: 90_000 });
      const cmAfter = await client.request<KubeObject>(`/api/v1/namespaces/${ns}/configmaps/gw-lacquer`);
      equal(cmAfter.metadata.resourceVersion, cm.metadata.resourceVersion);

      // A route change is reconciled once: the echoes of the writes it makes (the ConfigMap, the statuses) wake
      // nothing. Changes of others (the pods) may come at any time, so an attempt that saw a second reconcile is
      // repeated with another path; an echo that reconciles fails every attempt.
      await eventually(async () => {
        const reconciled = await reconciles(metricsUrl, "gateway");
        const path = `/a${++attempt}`;
        await client.request(`${GW}/namespaces/${ns}/httproutes/r1`, {
          method: "PATCH",
          contentType: "application/merge-patch+json",
          body: route(ns, "r1", "gw", path),
        });
        await eventually(async () => {
          const cm = await client.request<{ data: Record<string, string> }>(
            `/api/v1/namespaces/${ns}/configmaps/gw-lacquer`,
          );
          ok(cm.data["routing.json"].includes(`"${path}"`));
          ok(await reconciles(metricsUrl, "gateway") > reconciled, "its reconcile finished");
        });
        await consistently(async () => equal(await reconciles(metricsUrl, "gateway"), reconciled + 1), {
          timeoutMs: 1500,
        });
      }, { timeoutMs: 90_000 });

      // A route change rewrites routing.json but keeps the infra hash; a listener port change rolls the pods.
      const hash = async () => {
        const d = await client.request<{ spec: { template: { metadata: { annotations: Record<string, string> } } } }>(
          `/apis/apps/v1/namespaces/${ns}/deployments/gw`,
        );
        return d.spec.template.metadata.annotations["lacquer.dev/infra-hash"];
      };
      const infraHash = await hash();
      await client.request(`${GW}/namespaces/${ns}/httproutes/r2`, { method: "DELETE" });
      await eventually(async () => {
        const cm = await client.request<{ data: Record<string, string> }>(
          `/api/v1/namespaces/${ns}/configmaps/gw-lacquer`,
        );
        equal(JSON.parse(cm.data["routing.json"]).vhosts["*"].routes.length, 1);
      });
      equal(await hash(), infraHash);
      await client.request(gwPath, {
        method: "PATCH",
        contentType: "application/merge-patch+json",
        body: { spec: { listeners: [{ name: "http", port: 8080, protocol: "HTTP" }] } },
      });
      await eventually(async () => notEqual(await hash(), infraHash));

      // Cleanup. A backend in another namespace gives the Gateway a Role and RoleBinding there too.
      await using other = await createTestNamespace(await useCluster());
      await client.request(`/api/v1/namespaces/${other.name}/services`, {
        method: "POST",
        body: service(other.name, "api"),
      });
      await grantServices(client, ns, other.name);
      await client.request(`${GW}/namespaces/${ns}/httproutes`, { method: "POST", body: crossRoute(ns, other.name) });
      const rbac = "/apis/rbac.authorization.k8s.io/v1/namespaces";
      const children = [
        `/apis/apps/v1/namespaces/${ns}/deployments/gw`,
        `/api/v1/namespaces/${ns}/services/gw`,
        `/api/v1/namespaces/${ns}/serviceaccounts/gw-lacquer`,
        `${rbac}/${ns}/roles/gw-lacquer`,
        `${rbac}/${ns}/rolebindings/gw-lacquer`,
        `/api/v1/namespaces/${ns}/configmaps/gw-lacquer`,
        `/api/v1/namespaces/${ns}/secrets/gw-lacquer-admin`,
        `${rbac}/${other.name}/roles/lacquer-gw-${ns}.gw`,
        `${rbac}/${other.name}/rolebindings/lacquer-gw-${ns}.gw`,
      ];
      const present = async () => {
        const found = await Promise.all(children.map((path) => client.request(path).then(() => true, () => false)));
        return children.filter((_, i) => found[i]);
      };
      await eventually(async () => deepEqual(await present(), children), { timeoutMs: 60_000 });

      // Moved to a class that is not ours, the Gateway still exists, so the garbage collector removes nothing: the
      // operator's prune must remove every child, in both namespaces.
      const moveTo = (gatewayClassName: string) =>
        client.request(gwPath, {
          method: "PATCH",
          contentType: "application/merge-patch+json",
          body: { spec: { gatewayClassName } },
        });
      await moveTo(`${cls}-elsewhere`);
      await eventually(async () => deepEqual(await present(), []), { timeoutMs: 60_000 });
      await moveTo(cls);
      await eventually(async () => deepEqual(await present(), children), { timeoutMs: 60_000 });

      // Deleting the Gateway removes them all again: the garbage collector those with an owner reference, the operator
      // the ones in the other namespace.
      await client.request(gwPath, { method: "DELETE" });
      await eventually(async () => deepEqual(await present(), []), { timeoutMs: 60_000 });
    });
  },
});

Deno.test({
  name: "operator translates a CachePolicy into routing.json, reports its status, and removes it when deleted",
  ignore: !clusterAvailable(),
  async fn() {
    await withOperator(async ({ client, ns, cls }) => {
      const policies = `/apis/lacquer.dev/v1alpha1/namespaces/${ns}/cachepolicies`;
      const target = { group: "gateway.networking.k8s.io", kind: "HTTPRoute", name: "a" };
      await client.request(`/api/v1/namespaces/${ns}/services`, { method: "POST", body: service(ns, "web") });
      await client.request(`${GW}/namespaces/${ns}/gateways`, { method: "POST", body: gateway(ns, cls, "gw") });
      await client.request(`${GW}/namespaces/${ns}/httproutes`, { method: "POST", body: route(ns, "a", "gw", "/a") });
      const document = async () => {
        const cm = await client.request<{ data: Record<string, string> }>(
          `/api/v1/namespaces/${ns}/configmaps/gw-lacquer`,
        );
        return JSON.parse(cm.data["routing.json"]);
      };
      const routing = async () => (await document()).vhosts["*"].routes[0];
      const accepted = async (name: string) => {
        const p = await client.request<KubeObject>(`${policies}/${name}`);
        const ancestors = (p.status as { ancestors?: { ancestorRef: { name: string }; conditions: Condition[] }[] })
          ?.ancestors ?? [];
        equal(ancestors.length, 1, JSON.stringify(p.status));
        return { ref: ancestors[0].ancestorRef.name, ...ancestors[0].conditions[0] };
      };
      await eventually(async () => equal((await routing()).id.name, "a"));
      equal((await routing()).cache, undefined, "no policy: the rule passes");

      const policy = (name: string, spec: Record<string, unknown>) => ({
        apiVersion: "lacquer.dev/v1alpha1",
        kind: "CachePolicy",
        metadata: { name, namespace: ns },
        spec: { targetRefs: [target], ...spec },
      });
      await client.request(policies, { method: "POST", body: policy("first", { ttl: { default: "90s" } }) });
      await eventually(async () => {
        // The rule names its policy; the policy's settings are in the document's table.
        const doc = await document();
        const name = doc.vhosts["*"].routes[0].cache;
        deepEqual([name, doc.cachePolicies?.[name]?.ttl.default], [`${ns}/first`, 90]);
      });
      await eventually(async () => {
        const c = await accepted("first");
        deepEqual([c.ref, c.status, c.reason, c.observedGeneration], ["gw", "True", "Accepted", 1]);
      });

      // A younger policy on the same target is Conflicted and changes nothing.
      await new Promise((r) => setTimeout(r, 1100)); // creationTimestamps have whole seconds
      await client.request(policies, { method: "POST", body: policy("second", { ttl: { default: "5s" } }) });
      await eventually(async () => {
        const c = await accepted("second");
        deepEqual([c.status, c.reason], ["False", "Conflicted"]);
      });
      equal((await routing()).cache, `${ns}/first`);
      // Each policy has an Event saying so (what `kubectl describe cachepolicy` lists).
      await eventually(async () => {
        const events = await client.request<
          { items: { regarding: { kind: string; name: string }; type: string; reason: string }[] }
        >(
          `/apis/events.k8s.io/v1/namespaces/${ns}/events`,
        );
        const seen = events.items.filter((e) => e.regarding.kind === "CachePolicy")
          .map((e) => `${e.regarding.name} ${e.type} ${e.reason}`).sort();
        deepEqual(seen, ["first Normal Accepted", "second Warning Conflicted"]);
      });
      // kubectl shows the target and the acceptance (with -o wide, the reason; the empty section prints nothing).
      const table = await kubectl(await useCluster(), ["get", "cachepolicy", "-n", ns, "-o", "wide", "--no-headers"]);
      const rows = table.trim().split("\n").map((line) => line.trim().split(/\s+/).slice(0, 5));
      deepEqual(rows, [
        ["first", "HTTPRoute", "a", "True", "Accepted"],
        ["second", "HTTPRoute", "a", "False", "Conflicted"],
      ]);

      // Deleting the older one hands the target to the other: routing.json and both statuses follow.
      await client.request(`${policies}/first`, { method: "DELETE" });
      await eventually(async () => equal((await routing()).cache, `${ns}/second`));
      await eventually(async () => equal((await accepted("second")).reason, "Accepted"));

      // An update that makes it invalid removes the cache whole and says why.
      await client.request(`${policies}/second`, {
        method: "PATCH",
        contentType: "application/merge-patch+json",
        body: { spec: { bypass: [{ header: { name: "X-A", valueRegex: "(?!x)" } }] } },
      });
      await eventually(async () => {
        const c = await accepted("second");
        deepEqual([c.status, c.reason, c.observedGeneration], ["False", "Invalid", 2]);
      });
      await eventually(async () => equal((await routing()).cache, undefined));

      // Back to valid, then deleted: the rule passes again.
      await client.request(`${policies}/second`, {
        method: "PATCH",
        contentType: "application/merge-patch+json",
        body: { spec: { bypass: null } },
      });
      await eventually(async () => equal((await routing()).cache, `${ns}/second`));
      await client.request(`${policies}/second`, { method: "DELETE" });
      await eventually(async () => equal((await routing()).cache, undefined));
    });
  },
});

Deno.test({
  name: "operator keeps two Gateways isolated and reports a bad regex while other routes keep their config",
  ignore: !clusterAvailable(),
  async fn() {
    await withOperator(async ({ client, ns, cls }) => {
      await client.request(`/api/v1/namespaces/${ns}/services`, { method: "POST", body: service(ns, "web") });
      for (const name of ["one", "two"]) {
        await client.request(`${GW}/namespaces/${ns}/gateways`, { method: "POST", body: gateway(ns, cls, name) });
      }
      await client.request(`${GW}/namespaces/${ns}/httproutes`, { method: "POST", body: route(ns, "a", "one", "/a") });
      const bad = route(ns, "bad", "two", "/b");
      (bad.spec.rules[0].matches[0].path as { type: string; value: string }) = {
        type: "RegularExpression",
        value: "/(?=x)",
      };
      await client.request(`${GW}/namespaces/${ns}/httproutes`, { method: "POST", body: bad });
      await client.request(`${GW}/namespaces/${ns}/httproutes`, { method: "POST", body: route(ns, "b", "two", "/ok") });
      await eventually(async () => {
        const routing = async (gw: string) => {
          const cm = await client.request<{ data: Record<string, string> }>(
            `/api/v1/namespaces/${ns}/configmaps/${gw}-lacquer`,
          );
          return JSON.parse(cm.data["routing.json"]);
        };
        const one = await routing("one");
        const two = await routing("two");
        deepEqual(one.vhosts["*"].routes.map((r: { id: { name: string } }) => r.id.name), ["a"]);
        deepEqual(two.vhosts["*"].routes.map((r: { id: { name: string } }) => r.id.name), ["b"]);
      });
      await eventually(async () => {
        const r = await client.request<KubeObject>(`${GW}/namespaces/${ns}/httproutes/bad`);
        const parent = (r.status as { parents: { conditions: Condition[] }[] }).parents[0];
        equal(parent.conditions[0].status, "False");
        equal(parent.conditions[0].reason, "UnsupportedValue");
      });
    });
  },
});

Deno.test({
  name: "operator applies GatewayParameters (a Gateway's image only once its class allows it), grants backend " +
    "namespaces to the gateway and reports bad parameters",
  ignore: !clusterAvailable(),
  async fn() {
    await withOperator(async ({ client, ns, cls }) => {
      const cluster = await useCluster();
      await using other = await createTestNamespace(cluster);
      await client.request(`/api/v1/namespaces/${other.name}/services`, {
        method: "POST",
        body: service(other.name, "api"),
      });
      const parameters = (name: string, spec: Record<string, unknown>) =>
        client.request(`/apis/lacquer.dev/v1alpha1/namespaces/${ns}/gatewayparameters`, {
          method: "POST",
          body: {
            apiVersion: "lacquer.dev/v1alpha1",
            kind: "GatewayParameters",
            metadata: { name, namespace: ns },
            spec,
          },
        });
      await parameters("params", { image: ECHO_IMAGE, service: { type: "ClusterIP" } });
      const gw = gateway(ns, cls, "gw");
      (gw.spec as Record<string, unknown>).infrastructure = {
        labels: { team: "edge" },
        parametersRef: { group: "lacquer.dev", kind: "GatewayParameters", name: "params" },
      };
      await client.request(`${GW}/namespaces/${ns}/gateways`, { method: "POST", body: gw });
      await client.request(`${GW}/namespaces/${ns}/httproutes`, { method: "POST", body: crossRoute(ns, other.name) });

      const deploymentPath = `/apis/apps/v1/namespaces/${ns}/deployments/gw`;
      type Deployment = {
        spec: {
          template: { metadata: { annotations: Record<string, string> }; spec: { containers: { image: string }[] } };
        };
      };
      const image = async () => {
        const d = await client.request<Deployment & KubeObject>(deploymentPath);
        equal(d.metadata.labels?.team, "edge");
        return d.spec.template.spec.containers[0].image;
      };
      // The class names no GatewayParameters, so it lets the Gateway set no image: the operator's applies, the
      // Gateway says which field was refused and why, and its other fields (the Service type) apply.
      await eventually(async () => {
        equal(await image(), PAUSE_IMAGE);
        const g = await client.request<KubeObject>(`${GW}/namespaces/${ns}/gateways/gw`);
        equal(condition(g, "Accepted")?.status, "True");
        const allowed = condition(g, "lacquer.dev/ParametersAllowed");
        deepEqual([allowed?.status, allowed?.reason], ["False", "NotAllowedByClass"]);
        match(allowed!.message, /does not let its Gateways set image \(it chooses the program the gateway pods run\)/);
      });
      const svc = await client.request<{ spec: { type: string } }>(`/api/v1/namespaces/${ns}/services/gw`);
      equal(svc.spec.type, "ClusterIP");
      const described = await kubectl(cluster, ["describe", "gateway", "gw", "-n", ns]);
      match(described, /NotAllowedByClass/);
      // The class opts in (its GatewayParameters list image and storage): the Gateway's image applies.
      await parameters("class-params", { allowedGatewayOverrides: ["image", "storage"] });
      await client.request(`${GW}/gatewayclasses/${cls}`, {
        method: "PATCH",
        contentType: "application/merge-patch+json",
        body: {
          spec: {
            parametersRef: { group: "lacquer.dev", kind: "GatewayParameters", name: "class-params", namespace: ns },
          },
        },
      });
      const first = await eventually(async () => {
        equal(await image(), ECHO_IMAGE);
        const g = await client.request<KubeObject>(`${GW}/namespaces/${ns}/gateways/gw`);
        equal(condition(g, "lacquer.dev/ParametersAllowed")?.status, "True");
        const d = await client.request<Deployment>(deploymentPath);
        return d.spec.template.metadata.annotations["lacquer.dev/infra-hash"];
      });
      // Not permitted yet: unresolved, and no Role in the other namespace.
      await eventually(async () => equal(await crossResolvedRefs(client, ns), "RefNotPermitted"));
      await grantServices(client, ns, other.name);
      const remoteRole = `/apis/rbac.authorization.k8s.io/v1/namespaces/${other.name}/roles/lacquer-gw-${ns}.gw`;
      await eventually(() => client.request(remoteRole));
      await eventually(async () => equal(await crossResolvedRefs(client, ns), "ResolvedRefs"));
      // The route leaves: the remote Role is pruned.
      await client.request(`${GW}/namespaces/${ns}/httproutes/cross`, { method: "DELETE" });
      await eventually(async () => {
        const gone = await client.request(remoteRole).then(() => false, () => true);
        equal(gone, true);
      });
      // A parameters change rolls the pods; a dangling reference makes the Gateway not accepted.
      await client.request(`/apis/lacquer.dev/v1alpha1/namespaces/${ns}/gatewayparameters/params`, {
        method: "PATCH",
        contentType: "application/merge-patch+json",
        body: { spec: { storage: "malloc,64m" } },
      });
      await eventually(async () => {
        const d = await client.request<Deployment>(deploymentPath);
        notEqual(d.spec.template.metadata.annotations["lacquer.dev/infra-hash"], first);
      });
      // The class withdraws image, as an upgrade to class-level fields does for a Gateway whose own GatewayParameters
      // set one: the pods roll to the class's image, nothing else of the Gateway changes (still accepted, its storage
      // and Service type applied), and its status and a Warning Event tell its owner which field and how to get it.
      await client.request(`/apis/lacquer.dev/v1alpha1/namespaces/${ns}/gatewayparameters/class-params`, {
        method: "PATCH",
        contentType: "application/merge-patch+json",
        body: { spec: { allowedGatewayOverrides: ["storage"] } },
      });
      await eventually(async () => {
        equal(await image(), PAUSE_IMAGE);
        const d = await client.request<
          { spec: { template: { spec: { containers: { name: string; env?: { name: string; value?: string }[] }[] } } } }
        >(
          deploymentPath,
        );
        const storage = d.spec.template.spec.containers[0].env?.find((e) => e.name === "LACQUER_STORAGE");
        equal(storage?.value, "malloc,64m");
        const g = await client.request<KubeObject>(`${GW}/namespaces/${ns}/gateways/gw`);
        equal(condition(g, "Accepted")?.status, "True");
        const allowed = condition(g, "lacquer.dev/ParametersAllowed");
        deepEqual([allowed?.status, allowed?.reason], ["False", "NotAllowedByClass"]);
        match(allowed!.message, new RegExp(`"${ns}/class-params" list in allowedGatewayOverrides \\(now: storage\\)`));
      });
      equal(
        (await client.request<{ spec: { type: string } }>(`/api/v1/namespaces/${ns}/services/gw`)).spec.type,
        "ClusterIP",
      );
      await eventually(async () => {
        const events = await client.request<
          { items: { type: string; reason: string; note: string; regarding: { kind: string; name: string } }[] }
        >(`/apis/events.k8s.io/v1/namespaces/${ns}/events`);
        const refused = events.items.filter((e) =>
          e.regarding.kind === "Gateway" && e.regarding.name === "gw" && e.reason === "NotAllowedByClass"
        );
        ok(refused.some((e) => e.type === "Warning" && /\(now: storage\)/.test(e.note)), "a Warning Event");
      });
      await client.request(`/apis/lacquer.dev/v1alpha1/namespaces/${ns}/gatewayparameters/params`, {
        method: "DELETE",
      });
      await eventually(async () => {
        const g = await client.request<KubeObject>(`${GW}/namespaces/${ns}/gateways/gw`);
        equal(condition(g, "Accepted")?.reason, "InvalidParameters");
        equal(condition(g, "Accepted")?.status, "False");
      });
    });
  },
});

async function selfSignedTls(name: string): Promise<{ "tls.crt": string; "tls.key": string }> {
  const dir = await Deno.makeTempDir({ prefix: "lacquer-cert-" });
  try {
    const { cert, key } = await selfSignedCertificate(dir, "site", [name]);
    return { "tls.crt": cert, "tls.key": key };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const b64 = (text: string) => btoa(text);
const unb64 = (text: string) => atob(text);

/** The TLS Secret "cert" of `tls` (to replace the one at `resourceVersion` when given). */
function tlsSecret(tls: { "tls.crt": string; "tls.key": string }, resourceVersion?: string) {
  return {
    metadata: { name: "cert", ...(resourceVersion === undefined ? {} : { resourceVersion }) },
    type: "kubernetes.io/tls",
    data: { "tls.crt": b64(tls["tls.crt"]), "tls.key": b64(tls["tls.key"]) },
  };
}

/** The listener "https" on port 443 with the certificate of Secret "cert" (of `namespace` when given). */
function httpsListener(namespace?: string) {
  const ref = { group: "", kind: "Secret", name: "cert", ...(namespace === undefined ? {} : { namespace }) };
  return { name: "https", port: 443, protocol: "HTTPS", tls: { certificateRefs: [ref] } };
}

Deno.test({
  name: "operator copies HTTPS listener certificates into the Gateway's TLS Secret, follows a rotation and a " +
    "deletion, and prunes it",
  ignore: !clusterAvailable(),
  async fn() {
    await withOperator(async ({ client, ns, cls }) => {
      const secrets = `/api/v1/namespaces/${ns}/secrets`;
      const first = await selfSignedTls("first.example.com");
      await client.request(secrets, { method: "POST", body: tlsSecret(first) });
      const gw = gateway(ns, cls, "secure");
      (gw.spec.listeners as unknown[]).push(httpsListener());
      await client.request(`${GW}/namespaces/${ns}/gateways`, { method: "POST", body: gw });
      const bundle = async () => {
        const s = await client.request<{ data: Record<string, string>; metadata: KubeObject["metadata"] }>(
          `${secrets}/secure-lacquer-tls`,
        );
        return { pem: unb64(s.data["port-443.https.pem"]), metadata: s.metadata, keys: Object.keys(s.data).sort() };
      };
      await eventually(async () => {
        const { pem, metadata, keys } = await bundle();
        equal(pem, `${first["tls.key"]}${first["tls.crt"]}`);
        deepEqual(keys, ["port-443.https.pem", "port-443.pem", "tls.crt", "tls.key"]);
        equal((metadata.ownerReferences as { kind: string }[])[0].kind, "Gateway");
      });
      // children are applied one after the other: the Deployment may come after the Secret
      const deployment = await eventually(() =>
        client.request<{ spec: { template: { spec: { containers: { env: unknown[] }[] } } } }>(
          `/apis/apps/v1/namespaces/${ns}/deployments/secure`,
        )
      );
      const env = deployment.spec.template.spec.containers[0].env as { name: string; value?: string }[];
      equal(env.find((e) => e.name === "LACQUER_TLS_LISTEN")?.value, "port-443=:443");
      equal(env.find((e) => e.name === "LACQUER_LISTEN")?.value, "port-80=:80");
      const role = await client.request<{ rules: { resources: string[]; resourceNames?: string[] }[] }>(
        `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles/secure-lacquer`,
      );
      deepEqual(role.rules.find((r) => r.resources[0] === "secrets")?.resourceNames, ["secure-lacquer-tls"]);

      const rotated = await selfSignedTls("first.example.com");
      const current = await client.request<KubeObject>(`${secrets}/cert`);
      await client.request(`${secrets}/cert`, {
        method: "PUT",
        body: tlsSecret(rotated, current.metadata.resourceVersion),
      });
      await eventually(async () => equal((await bundle()).pem, `${rotated["tls.key"]}${rotated["tls.crt"]}`));

      // The certificate's Secret is deleted after the Gateway was programmed: the listener says so, and its key
      // leaves the gateway's TLS Secret (a deleted certificate is not served on).
      await client.request(`${secrets}/cert`, { method: "DELETE" });
      await eventually(async () => {
        const g = await client.request<KubeObject>(`${GW}/namespaces/${ns}/gateways/secure`);
        const refs = listenerStatus(g, "https")?.conditions.find((c) => c.type === "ResolvedRefs");
        deepEqual([refs?.status, refs?.reason], ["False", "InvalidCertificateRef"]);
        const left = await client.request<{ data?: Record<string, string> }>(`${secrets}/secure-lacquer-tls`)
          .then((s) => Object.values(s.data ?? {}).map(unb64).join(""), () => "");
        ok(!left.includes(rotated["tls.key"].trim()), "the deleted certificate's key is still copied");
      });

      // the operator writes the Gateway's status meanwhile: a read-modify-write retries on a conflict
      await eventually(async () => {
        const latest = await client.request<KubeObject & { spec: { listeners: unknown[] } }>(
          `${GW}/namespaces/${ns}/gateways/secure`,
        );
        await client.request(`${GW}/namespaces/${ns}/gateways/secure`, {
          method: "PUT",
          body: { ...latest, spec: { ...latest.spec, listeners: latest.spec.listeners.slice(0, 1) } },
        });
      });
      await eventually(async () => {
        const status = await client.request(`${secrets}/secure-lacquer-tls`).then(() => 200, (e) => e.code);
        equal(status, 404);
      });
    });
  },
});

interface ListenerStatusView {
  name: string;
  supportedKinds: unknown[];
  attachedRoutes: number;
  conditions: Condition[];
}

function listenerStatus(gw: KubeObject, name: string): ListenerStatusView | undefined {
  return ((gw.status as { listeners?: ListenerStatusView[] } | undefined)?.listeners ?? []).find((l) =>
    l.name === name
  );
}

Deno.test({
  name: "operator writes the status of Gateways without a valid listener and follows a certificate's ReferenceGrant",
  ignore: !clusterAvailable(),
  async fn() {
    await withOperator(async ({ client, ns, cls }) => {
      const cluster = await useCluster();
      await using other = await createTestNamespace(cluster);
      const gateways = `${GW}/namespaces/${ns}/gateways`;
      const invalid = gateway(ns, cls, "invalid");
      invalid.spec.listeners = [{ name: "invalid", port: 1111, protocol: "INVALID" }];
      await client.request(gateways, { method: "POST", body: invalid });
      const kinds = gateway(ns, cls, "kinds");
      (kinds.spec.listeners[0] as Record<string, unknown>).allowedRoutes = { kinds: [{ kind: "InvalidRoute" }] };
      await client.request(gateways, { method: "POST", body: kinds });
      const summary = (c: Condition | undefined) => c && [c.status, c.reason];
      for (
        const [name, listener, type, reason] of [
          ["invalid", "invalid", "Accepted", "UnsupportedProtocol"],
          ["kinds", "http", "ResolvedRefs", "InvalidRouteKinds"],
        ]
      ) {
        await eventually(async () => {
          const gw = await client.request<KubeObject>(`${gateways}/${name}`);
          deepEqual(summary(condition(gw, "Accepted")), ["False", "ListenersNotValid"]);
          for (const c of (gw.status as { conditions: Condition[] }).conditions) {
            equal(c.observedGeneration, gw.metadata.generation, `${name}: ${c.type} is current`);
          }
          const status = listenerStatus(gw, listener)!;
          deepEqual(status.supportedKinds, []);
          deepEqual(summary(status.conditions.find((c) => c.type === type)), ["False", reason]);
        });
      }

      // A certificate in another namespace: not permitted, permitted once a ReferenceGrant allows it, and not
      // permitted again when the grant goes.
      const cert = await selfSignedTls("borrowed.example.com");
      await client.request(`/api/v1/namespaces/${other.name}/secrets`, { method: "POST", body: tlsSecret(cert) });
      const borrowed = gateway(ns, cls, "borrowed");
      borrowed.spec.listeners = [httpsListener(other.name) as never];
      await client.request(gateways, { method: "POST", body: borrowed });
      const resolvedRefs = async () => {
        const gw = await client.request<KubeObject>(`${gateways}/borrowed`);
        return summary(listenerStatus(gw, "https")?.conditions.find((c) => c.type === "ResolvedRefs"));
      };
      await eventually(async () => deepEqual(await resolvedRefs(), ["False", "RefNotPermitted"]));
      const grants = `${GW}/namespaces/${other.name}/referencegrants`;
      await client.request(grants, {
        method: "POST",
        body: {
          apiVersion: "gateway.networking.k8s.io/v1",
          kind: "ReferenceGrant",
          metadata: { name: "certs" },
          spec: {
            from: [{ group: "gateway.networking.k8s.io", kind: "Gateway", namespace: ns }],
            to: [{ group: "", kind: "Secret", name: "cert" }],
          },
        },
      });
      await eventually(async () => deepEqual(await resolvedRefs(), ["True", "ResolvedRefs"]));
      await client.request(`${grants}/certs`, { method: "DELETE" });
      await eventually(async () => deepEqual(await resolvedRefs(), ["False", "RefNotPermitted"]));
    });
  },
});

/** `DENO_V8_FLAGS` as the Helm chart ships them (`operator.v8Flags`). */
async function shippedV8Flags(): Promise<string> {
  const values = await Deno.readTextFile(`${ROOT}deploy/helm/lacquer/values.yaml`);
  const flags = /^\s*v8Flags: (\S+)$/m.exec(values)?.[1];
  ok(flags, "values.yaml sets operator.v8Flags");
  return flags;
}

Deno.test({
  name: "operator stays up under its shipped heap cap beside 150 MB of unrelated ConfigMaps and TLS Secrets",
  ignore: !clusterAvailable(),
  async fn() {
    // 300 objects of 500 kB each in the Gateway's own namespace, more than the whole heap cap. An operator that
    // caches the cluster's ConfigMaps or TLS Secrets dies of "JavaScript heap out of memory" at its first list.
    const count = 300;
    const filler = "x".repeat(375_000);
    const prepare = async (client: KubeClient, ns: string) => {
      const create = (i: number) =>
        i % 2 === 0
          ? client.request(`/api/v1/namespaces/${ns}/configmaps`, {
            method: "POST",
            body: { metadata: { name: `unrelated-${i}` }, data: { blob: b64(filler) } },
          })
          : client.request(`/api/v1/namespaces/${ns}/secrets`, {
            method: "POST",
            body: {
              metadata: { name: `unrelated-${i}` },
              type: "kubernetes.io/tls",
              data: { "tls.crt": b64(filler), "tls.key": b64(filler.slice(0, 1000)) },
            },
          });
      for (let i = 0; i < count; i += 10) await Promise.all(Array.from({ length: 10 }, (_, j) => create(i + j)));
      const cert = await selfSignedTls("secure.example.com");
      await client.request(`/api/v1/namespaces/${ns}/secrets`, {
        method: "POST",
        body: {
          metadata: { name: "cert" },
          type: "kubernetes.io/tls",
          data: { "tls.crt": b64(cert["tls.crt"]), "tls.key": b64(cert["tls.key"]) },
        },
      });
    };
    await withOperator(async ({ client, ns, cls, metricsUrl }) => {
      await client.request(`/api/v1/namespaces/${ns}/services`, { method: "POST", body: service(ns, "web") });
      const gw = gateway(ns, cls, "gw");
      (gw.spec.listeners as unknown[]).push({
        name: "https",
        port: 443,
        protocol: "HTTPS",
        tls: { certificateRefs: [{ group: "", kind: "Secret", name: "cert" }] },
      });
      await client.request(`${GW}/namespaces/${ns}/gateways`, { method: "POST", body: gw });
      await client.request(`${GW}/namespaces/${ns}/httproutes`, { method: "POST", body: route(ns, "r1", "gw", "/a") });
      await eventually(async () => {
        const cm = await client.request<{ data: Record<string, string> }>(
          `/api/v1/namespaces/${ns}/configmaps/gw-lacquer`,
        );
        equal(JSON.parse(cm.data["routing.json"]).vhosts["*"].routes.length, 1);
        const tls = await client.request<{ data: Record<string, string> }>(
          `/api/v1/namespaces/${ns}/secrets/gw-lacquer-tls`,
        );
        ok(unb64(tls.data["port-443.https.pem"]).includes("BEGIN CERTIFICATE"));
        const r1 = await client.request<KubeObject>(`${GW}/namespaces/${ns}/httproutes/r1`);
        const parents = (r1.status as { parents: { conditions: Condition[] }[] }).parents;
        deepEqual(parents[0].conditions.map((c) => [c.type, c.status]), [["Accepted", "True"], [
          "ResolvedRefs",
          "True",
        ]]);
      }, { timeoutMs: 60_000 });
      const metrics = await (await fetch(metricsUrl)).text();
      const cached = (kind: string) =>
        Number(new RegExp(`lacquer_operator_cached_objects\\{kind="${kind}"\\} (\\d+)`).exec(metrics)?.[1]);
      ok(cached("ConfigMap") <= 1, `only our own ConfigMap is cached (${cached("ConfigMap")})`);
      ok(cached("referenced/Secret") === 1, `only the referenced Secret is cached (${cached("referenced/Secret")})`);
    }, { env: { DENO_V8_FLAGS: await shippedV8Flags() }, prepare });
  },
});

Deno.test({
  name:
    "a BackendTLSPolicy reaches routing.json and its status; a change of its CA ConfigMap (watched by name) reaches both",
  ignore: !clusterAvailable(),
  async fn() {
    await withOperator(async ({ client, ns, cls }) => {
      const dir = await Deno.makeTempDir({ prefix: "lacquer-btls-" });
      const { cert } = await selfSignedCertificate(dir, "backend-ca", ["web.internal"]);
      await Deno.remove(dir, { recursive: true });
      const configMaps = `/api/v1/namespaces/${ns}/configmaps`;
      await client.request(configMaps, {
        method: "POST",
        body: {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: "backend-ca", namespace: ns },
          data: { "ca.crt": cert },
        },
      });
      await client.request(`/api/v1/namespaces/${ns}/services`, { method: "POST", body: service(ns, "web") });
      await client.request(`${GW}/namespaces/${ns}/gateways`, { method: "POST", body: gateway(ns, cls, "gw") });
      await client.request(`${GW}/namespaces/${ns}/httproutes`, { method: "POST", body: route(ns, "r", "gw", "/") });
      const policyPath = `${GW}/namespaces/${ns}/backendtlspolicies`;
      await client.request(policyPath, {
        method: "POST",
        body: {
          apiVersion: "gateway.networking.k8s.io/v1",
          kind: "BackendTLSPolicy",
          metadata: { name: "p", namespace: ns },
          spec: {
            targetRefs: [{ group: "", kind: "Service", name: "web" }],
            validation: {
              caCertificateRefs: [{ group: "", kind: "ConfigMap", name: "backend-ca" }],
              hostname: "web.internal",
            },
          },
        },
      });
      type Ancestor = { ancestorRef: { name: string }; controllerName: string; conditions: Condition[] };
      const ancestors = async () =>
        ((await client.request<KubeObject>(`${policyPath}/p`)).status as { ancestors?: Ancestor[] } | undefined)
          ?.ancestors ?? [];
      const routing = async () => {
        const cm = await client.request<{ data: Record<string, string> }>(`${configMaps}/${gatewayChildName("gw")}`);
        return JSON.parse(cm.data["routing.json"]);
      };
      const backend = async () => (await routing()).vhosts["*"].routes[0].backends[0];
      const reasons = async () =>
        (await ancestors()).map((a) => [a.ancestorRef.name, ...a.conditions.map((c) => c.reason)]);
      await eventually(async () => {
        deepEqual(await reasons(), [["gw", "Accepted", "ResolvedRefs"]]);
        const doc = await routing();
        const b = doc.vhosts["*"].routes[0].backends[0];
        // the CA certificates once in the document's caBundles, named by their hash
        deepEqual([b.tls.hostname, doc.caBundles[b.tls.caBundle].trim()], ["web.internal", cert.trim()]);
      });
      // An emptied ca.crt: the policy has no valid CA left, and its Service's share of traffic answers 500.
      await client.request(`${configMaps}/backend-ca`, {
        method: "PATCH",
        contentType: "application/merge-patch+json",
        body: { data: { "ca.crt": "" } },
      });
      await eventually(async () => {
        deepEqual(await reasons(), [["gw", "NoValidCACertificate", "InvalidCACertificateRef"]]);
        match((await backend()).unresolved, /^BackendTLSPolicy ".*\/p" cannot be used/);
      });
      // The route gone, the Gateway's entry goes too.
      await client.request(`${GW}/namespaces/${ns}/httproutes/r`, { method: "DELETE" });
      await eventually(async () => deepEqual(await ancestors(), []));
    });
  },
});
