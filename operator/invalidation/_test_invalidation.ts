/**
 * Test fixture of the invalidation apiserver tests: in a test namespace of the real API server, a Gateway `gw`, an
 * HTTPRoute for `shop.example.com` whose status says our controller accepted it, the Gateway's admin token Secret,
 * and gateway Pods bound to a Node object that no kubelet runs, so their IPs are ours to set: `127.0.0.<n>`, where a
 * small real HTTP server plays each pod's chaperone `POST /invalidate`. Also the operator's caches and an executor
 * over them, as the operator wires them.
 *
 * @module
 */
import { KubeApiError, type KubeClient } from "../../internal/kube/mod.ts";
import { CONTROLLER_NAME, GATEWAY_NAME_LABEL, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from "../../internal/names.ts";
import { createLogger } from "../../internal/log.ts";
import { installLacquerCrds } from "../../tests/cluster/crd_installer.ts";
import { createTestNamespace, eventually, freePort, type TestNamespace, useCluster } from "../../tests/cluster/mod.ts";
import { apply, GW_API } from "../../tests/e2e/_e2e_gateway.ts";
import { adminTokenSecretName } from "../admin_token.ts";
import { type ChangeHandler, ClusterWatcher, WATCHED_KINDS } from "../cluster_watcher.ts";
import { CACHE_INVALIDATION_KIND } from "./cache_invalidation.ts";
import { InvalidationExecutor } from "./executor.ts";
import { servingGateways } from "./scope.ts";

/** The hostname the fixture's route serves. */
export const HOSTNAME = "shop.example.com";

/** The admin token of the fixture's Gateway. */
export const ADMIN_TOKEN = "test-admin-token-0123456789";

/** What a fake chaperone does with the next requests. */
export type PodBehaviour = "ok" | "fail";

/** One fake gateway pod. */
export interface FakePod {
  /** `namespace/name`. */
  key: string;
  /** The Pod's name. */
  name: string;
  /** Its IP. */
  ip: string;
  /** What its chaperone answers. */
  behaviour: PodBehaviour;
  /** When set, its chaperone answers only once this settles. */
  hold?: Promise<void>;
  /** The bodies it accepted. */
  received: Record<string, unknown>[];
}

/** The fixture; dispose it to stop everything and delete what it created. */
export interface InvalidationFixture extends AsyncDisposable {
  ns: TestNamespace;
  client: KubeClient;
  pods: FakePod[];
  watcher: ClusterWatcher;
  executor: InvalidationExecutor;
  /** Sends the watcher's changes to a handler from now on (a controller's `onChange`). */
  subscribe(handler: ChangeHandler): void;
  /** Adds the namespace of a second tenant whose route also serves {@linkcode HOSTNAME} on `gw`. */
  addTenant(): Promise<TestNamespace>;
  /** Applies a route of the test namespace for `hostname` on `gw`, then writes our controller's Accepted entry. */
  serveHostname(hostname: string): Promise<void>;
}

/** Creates an HTTPRoute for a hostname on `gwNamespace/gw` and writes our controller's Accepted entry. */
async function acceptedRoute(
  client: KubeClient,
  namespace: string,
  gwNamespace: string,
  hostname = HOSTNAME,
  name = "shop",
): Promise<string> {
  const parentRef = { group: "gateway.networking.k8s.io", kind: "Gateway", name: "gw", namespace: gwNamespace };
  const path = `${GW_API}/namespaces/${namespace}/httproutes`;
  await apply(client, path, {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name, namespace },
    spec: { parentRefs: [parentRef], hostnames: [hostname] },
  });
  const accepted = {
    type: "Accepted",
    status: "True",
    reason: "Accepted",
    message: "",
    lastTransitionTime: "2026-01-01T00:00:00Z",
    observedGeneration: 1,
  };
  await client.request(`${path}/${name}/status`, {
    method: "PATCH",
    contentType: "application/merge-patch+json",
    body: { status: { parents: [{ parentRef, controllerName: CONTROLLER_NAME, conditions: [accepted] }] } },
  });
  return `${path}/${name}`;
}

function serveChaperone(pod: FakePod, port: number): Deno.HttpServer {
  return Deno.serve({ hostname: pod.ip, port, onListen: () => {} }, async (request) => {
    if (request.headers.get("authorization") !== `Bearer ${ADMIN_TOKEN}`) {
      return Response.json({ error: "unauthorized" }, { status: 401 });
    }
    const body = await request.json();
    await pod.hold;
    if (pod.behaviour === "fail") return Response.json({ error: "varnishd is not running" }, { status: 503 });
    pod.received.push(body);
    return Response.json({ result: "ok", affected: 2, durationMs: 1 });
  });
}

/**
 * Sets up the fixture.
 *
 * @param podCount How many gateway pods.
 * @returns The fixture.
 */
export async function startInvalidationFixture(podCount = 3): Promise<InvalidationFixture> {
  const cluster = await useCluster();
  const ns = await createTestNamespace(cluster);
  const client = ns.client;
  const extra: TestNamespace[] = [];
  const node = `${ns.name}-nowhere`;
  const port = freePort();
  const servers: Deno.HttpServer[] = [];
  let watcher: ClusterWatcher | undefined;
  let handler: ChangeHandler = () => {};
  // Deleted before their namespaces: a namespace takes a while to go, and its accepted route for the shared hostname
  // would meanwhile make the next test's hostname look served by two namespaces.
  const routes: string[] = [];
  const dispose = async () => {
    await watcher?.stop();
    for (const route of routes) await client.request(route, { method: "DELETE" }).catch(() => {});
    await Promise.all(servers.map((s) => s.shutdown()));
    await client.request(`/api/v1/nodes/${node}`, { method: "DELETE" }).catch(() => {});
    for (const other of extra) await other[Symbol.asyncDispose]();
    await ns[Symbol.asyncDispose]();
  };
  try {
    await installLacquerCrds(client);
    // A Node no kubelet runs: its pods keep the IPs set here, and the pod garbage collector keeps pods of a Node
    // that exists.
    await client.request("/api/v1/nodes", {
      method: "POST",
      body: {
        apiVersion: "v1",
        kind: "Node",
        metadata: { name: node, labels: { "lacquer.dev/test-run": cluster.name } },
      },
    });
    await apply(client, `${GW_API}/namespaces/${ns.name}/gateways`, {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "gw", namespace: ns.name },
      spec: { gatewayClassName: "unused", listeners: [{ name: "http", port: 80, protocol: "HTTP" }] },
    });
    routes.push(await acceptedRoute(client, ns.name, ns.name));
    const labels = { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [GATEWAY_NAME_LABEL]: "gw" };
    await client.request(`/api/v1/namespaces/${ns.name}/secrets`, {
      method: "POST",
      body: {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: adminTokenSecretName("gw"), labels },
        stringData: { token: ADMIN_TOKEN },
      },
    });
    const pods: FakePod[] = [];
    for (let i = 1; i <= podCount; i++) {
      const name = `gw-${i}`;
      const ip = `127.0.0.${i + 1}`;
      const path = `/api/v1/namespaces/${ns.name}/pods`;
      await client.request(path, {
        method: "POST",
        body: {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name, labels },
          spec: { nodeName: node, containers: [{ name: "gateway", image: "lacquer-test/none" }] },
        },
      });
      await client.request(`${path}/${name}/status`, {
        method: "PATCH",
        contentType: "application/merge-patch+json",
        body: { status: { phase: "Running", podIP: ip, podIPs: [{ ip }] } },
      });
      const pod: FakePod = { key: `${ns.name}/${name}`, name, ip, behaviour: "ok", received: [] };
      pods.push(pod);
      servers.push(serveChaperone(pod, port));
    }
    const kinds = ["Gateway", "HTTPRoute", "Pod", "Secret", CACHE_INVALIDATION_KIND];
    watcher = new ClusterWatcher(client, {
      kinds: WATCHED_KINDS.filter((k) => kinds.includes(k.kind)),
      log: createLogger({ level: "warn" }),
      onChange: (kind, old, current) => handler(kind, old, current),
    });
    await watcher.synced;
    const executor = new InvalidationExecutor({
      client,
      cache: watcher,
      controllerName: CONTROLLER_NAME,
      adminPort: port,
      podTimeoutMs: 2_000,
    });
    await eventually(() => {
      if (executor.livePods([`${ns.name}/gw`]).length !== podCount) throw new Error("pods not cached yet");
      if (servingGateways(HOSTNAME, ns.name, executor.scope()).length === 0) throw new Error("route not cached yet");
    });
    return {
      ns,
      client,
      pods,
      watcher,
      executor,
      subscribe(h) {
        handler = h;
      },
      async addTenant() {
        const other = await createTestNamespace(cluster);
        extra.push(other);
        routes.push(await acceptedRoute(client, other.name, ns.name));
        await eventually(() => {
          if (executor.scope().routes.every((r) => r.metadata.namespace !== other.name)) throw new Error("not cached");
        });
        return other;
      },
      async serveHostname(hostname) {
        routes.push(await acceptedRoute(client, ns.name, ns.name, hostname, hostname.replaceAll(".", "-")));
      },
      [Symbol.asyncDispose]: dispose,
    };
  } catch (err) {
    await dispose();
    throw err;
  }
}

/** Deletes a Pod at once (grace period 0), as a node failure would. */
export async function deletePod(client: KubeClient, namespace: string, name: string): Promise<void> {
  await client.request(`/api/v1/namespaces/${namespace}/pods/${name}`, {
    method: "DELETE",
    body: { apiVersion: "v1", kind: "DeleteOptions", gracePeriodSeconds: 0 },
  }).catch((err) => {
    if (!(err instanceof KubeApiError && err.code === 404)) throw err;
  });
}

/** A ServiceAccount's token from the TokenRequest API; `mayInvalidate` binds a Role allowing invalidations. */
export async function serviceAccountToken(client: KubeClient, namespace: string, name: string, mayInvalidate: boolean) {
  const rbac = `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}`;
  await client.request(`/api/v1/namespaces/${namespace}/serviceaccounts`, {
    method: "POST",
    body: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name } },
  });
  if (mayInvalidate) {
    await client.request(`${rbac}/roles`, {
      method: "POST",
      body: {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name },
        rules: [{ apiGroups: ["lacquer.dev"], resources: ["cacheinvalidations"], verbs: ["create"] }],
      },
    });
    await client.request(`${rbac}/rolebindings`, {
      method: "POST",
      body: {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
        subjects: [{ kind: "ServiceAccount", name, namespace }],
      },
    });
  }
  const answer = await client.request<{ status: { token: string } }>(
    `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    { method: "POST", body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: {} } },
  );
  return answer.status.token;
}
