/**
 * Installs the Gateway API CRDs of one channel with server-side apply and waits until they are Established.
 *
 * @module
 */
import { parseAllDocuments } from "yaml";
import type { KubeClient } from "../../internal/kube/mod.ts";
import { GATEWAY_POD_CLUSTER_ROLE } from "../../operator/children.ts";

/** The CRD channels of the Gateway API release. */
export type GatewayApiChannel = "standard" | "experimental";

/**
 * Applies every CRD of a multi-document YAML file and waits for `Established=True`.
 *
 * @param client API client.
 * @param options The YAML file, the names of the CRDs to apply (default: every CRD of the file) and a timeout.
 * @returns The names of the applied CRDs.
 */
export async function installCrds(
  client: KubeClient,
  options: { file: string; only?: readonly string[]; timeoutMs?: number },
): Promise<string[]> {
  const docs = parseAllDocuments(await Deno.readTextFile(options.file))
    .map((d) => d.toJSON())
    .filter((d) => d && d.kind === "CustomResourceDefinition")
    .filter((d) => options.only === undefined || options.only.includes(d.metadata.name));
  await Promise.all(
    docs.map((crd) =>
      client.request(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`, {
        method: "PATCH",
        contentType: "application/apply-patch+yaml",
        query: { fieldManager: "lacquer-cluster", force: true },
        body: crd,
      })
    ),
  );
  const names: string[] = docs.map((d) => d.metadata.name);
  const deadline = performance.now() + (options.timeoutMs ?? 30_000);
  for (const name of names) {
    while (true) {
      const crd = await client.request<{ status?: { conditions?: { type: string; status: string }[] } }>(
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
      );
      if (crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")) break;
      if (performance.now() > deadline) throw new Error(`Cannot install CRD "${name}": not Established in time`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return names;
}

/**
 * Applies Lacquer's own CRDs (every file in `deploy/crds/`: GatewayParameters, CachePolicy) and waits until they
 * are Established. The operator watches them all, so it needs them before it starts. Also applies the ClusterRole
 * the gateways' RoleBindings grant under its default name, which the chart creates per release: an operator run
 * as a process binds its gateways to it.
 *
 * @param client API client.
 * @returns The names of the applied CRDs.
 */
export async function installLacquerCrds(client: KubeClient): Promise<string[]> {
  await client.request(`/apis/rbac.authorization.k8s.io/v1/clusterroles/${GATEWAY_POD_CLUSTER_ROLE.metadata.name}`, {
    method: "PATCH",
    contentType: "application/apply-patch+yaml",
    query: { fieldManager: "lacquer-cluster", force: true },
    body: GATEWAY_POD_CLUSTER_ROLE,
  });
  const dir = new URL("../../deploy/crds/", import.meta.url);
  const files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".yaml")).sort();
  const names = await Promise.all(files.map((f) => installCrds(client, { file: new URL(f, dir).pathname })));
  return names.flat();
}
