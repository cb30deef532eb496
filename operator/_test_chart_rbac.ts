/**
 * Test helpers: the chart's operator RBAC, rendered with given values and created for a ServiceAccount `op` of a
 * test namespace (cluster-scoped names made unique, so tests run side by side), and a kubeconfig that
 * authenticates as that ServiceAccount.
 *
 * @module
 */
import { equal } from "node:assert/strict";
import { parse, parseAllDocuments, stringify } from "yaml";
import { KubeApiError, type KubeClient, type KubeObject } from "../internal/kube/mod.ts";
import { helmBinary, helmTemplate } from "../deploy/render_manifests.ts";
import { GATEWAY_POD_CLUSTER_ROLE } from "./children.ts";

/** The RBAC API. */
export const RBAC = "/apis/rbac.authorization.k8s.io/v1";

/** Whether the helm binary is there to render the chart. */
export const HELM_AVAILABLE = await Deno.stat(helmBinary()).then(() => true, () => false);

/** The chart's cluster-scoped operator objects are named `lacquer-operator...`: the test's own prefix instead. */
function renamed(name: string, unique: string): string {
  return name.replace(/^lacquer-operator/, unique);
}

/**
 * Creates the chart's operator RBAC (rendered with `set`) for ServiceAccount `op` of `ns`; the cluster-scoped objects
 * `lacquer-operator...` become `<unique>...`, and the rules and bindings that name them follow.
 *
 * @param client An admin client.
 * @param ns The test namespace (the operator's, and the only one namespaced objects may be in).
 * @param unique The prefix of the cluster-scoped names.
 * @param set Helm values.
 * @returns Removes the cluster-scoped objects.
 */
export async function applyRenderedRbac(
  client: KubeClient,
  ns: string,
  unique: string,
  set: readonly string[],
): Promise<() => Promise<void>> {
  const rendered = await helmTemplate(set, ["templates/rbac.yaml"]);
  const subject = { kind: "ServiceAccount", name: "op", namespace: ns };
  const cleanup: string[] = [];
  for (const doc of parseAllDocuments(rendered).map((d) => d.toJS() as KubeObject | null)) {
    if (!doc || doc.kind === "ServiceAccount" || doc.metadata.name.endsWith("-leader-election")) continue;
    // the cluster has the gateways' pod ClusterRole under this name already (installLacquerCrds)
    if (doc.metadata.name === GATEWAY_POD_CLUSTER_ROLE.metadata.name) continue;
    if (!doc.metadata.namespace) doc.metadata.name = renamed(doc.metadata.name, unique);
    const roleRef = doc.roleRef as { kind: string; name: string } | undefined;
    if (roleRef?.kind === "ClusterRole") roleRef.name = renamed(roleRef.name, unique);
    for (const rule of (doc.rules ?? []) as { resources: string[]; resourceNames?: string[] }[]) {
      if (rule.resources.includes("clusterroles")) {
        rule.resourceNames = rule.resourceNames?.map((n) => renamed(n, unique));
      }
    }
    if (doc.kind?.endsWith("Binding")) doc.subjects = [subject];
    const collection = `${doc.kind!.toLowerCase()}s`;
    const path = doc.metadata.namespace ? `${RBAC}/namespaces/${ns}/${collection}` : `${RBAC}/${collection}`;
    equal(doc.metadata.namespace ?? ns, ns, `${doc.kind} ${doc.metadata.name} is in the operator's namespace`);
    await client.request(path, { method: "POST", body: doc });
    if (!doc.metadata.namespace) cleanup.push(`${path}/${doc.metadata.name}`);
  }
  return async () => {
    for (const path of cleanup) await client.request(path, { method: "DELETE" }).catch(() => {});
  };
}

/**
 * Creates ServiceAccount `op` in `ns` and writes a kubeconfig like the admin one, authenticating with its token.
 *
 * @param client An admin client.
 * @param admin The admin kubeconfig's path.
 * @param ns The namespace.
 * @returns The new kubeconfig's path (remove it when done).
 */
export async function serviceAccountKubeconfig(client: KubeClient, admin: string, ns: string): Promise<string> {
  await client.request(`/api/v1/namespaces/${ns}/serviceaccounts`, {
    method: "POST",
    body: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "op" } },
  });
  const review = await client.request<{ status: { token: string } }>(
    `/api/v1/namespaces/${ns}/serviceaccounts/op/token`,
    { method: "POST", body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: {} } },
  );
  const config = parse(await Deno.readTextFile(admin)) as { users: { user: Record<string, unknown> }[] };
  for (const u of config.users) u.user = { token: review.status.token };
  const file = await Deno.makeTempFile({ prefix: "kubeconfig-sa-" });
  await Deno.writeTextFile(file, stringify(config));
  return file;
}

/**
 * The HTTP status a request ends with: 200 for any success, or the API server's error code.
 *
 * @param request The request.
 * @returns The status.
 */
export async function statusOf(request: Promise<unknown>): Promise<number> {
  try {
    await request;
    return 200;
  } catch (err) {
    if (err instanceof KubeApiError) return err.code;
    throw err;
  }
}
