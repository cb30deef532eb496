import { deepEqual, equal, ok } from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { cachePolicySchema, validatePolicy } from "../operator/cache_policy/mod.ts";
import { ENV_NAME_RULE } from "../operator/gateway_env.ts";
import { GATEWAY_OVERRIDES } from "../operator/gateway_overrides.ts";
import { gatewayParametersSchema } from "../operator/gateway_parameters.ts";
import { KubeApiError } from "../internal/kube/mod.ts";
import { installLacquerCrds } from "../tests/cluster/crd_installer.ts";
import { clusterAvailable, createTestNamespace, useCluster } from "../tests/cluster/mod.ts";

const DIR = new URL("./", import.meta.url);

async function documents(): Promise<{ file: string; doc: Record<string, unknown> }[]> {
  const out: { file: string; doc: Record<string, unknown> }[] = [];
  for (const sub of ["crds", "operator", "examples"]) {
    for (const entry of Deno.readDirSync(new URL(`${sub}/`, DIR))) {
      const file = `${sub}/${entry.name}`;
      for (const d of parseAllDocuments(await Deno.readTextFile(new URL(file, DIR)))) {
        ok(d.errors.length === 0, `${file}: ${d.errors.join("; ")}`);
        const doc = d.toJS();
        if (doc) out.push({ file, doc });
      }
    }
  }
  return out;
}

Deno.test("deploy manifests parse and example GatewayParameters and CachePolicies follow the operator's schemas", async () => {
  const docs = await documents();
  ok(docs.length > 5);
  for (const { file, doc } of docs.filter((d) => d.doc.kind === "GatewayParameters")) {
    equal(gatewayParametersSchema.safeParse(doc).success, true, file);
  }
  const policies = docs.filter((d) => d.doc.kind === "CachePolicy");
  ok(policies.length > 0);
  for (const { file, doc } of policies) {
    const validated = validatePolicy(cachePolicySchema.parse(doc));
    deepEqual(validated.valid ? [] : validated.problems, [], file);
  }
});

Deno.test("the GatewayParameters CRD refuses the env names the operator refuses", async () => {
  const crd = (await documents()).find((d) => d.file === "crds/lacquer.dev_gatewayparameters.yaml")!.doc;
  ok(JSON.stringify(crd).includes(JSON.stringify({ rule: ENV_NAME_RULE }).slice(1, -1)));
});

Deno.test("the GatewayParameters CRD's allowedGatewayOverrides lists the operator's names", async () => {
  const crd = (await documents()).find((d) => d.file === "crds/lacquer.dev_gatewayparameters.yaml")!.doc as {
    spec: {
      versions: { schema: { openAPIV3Schema: { properties: { spec: { properties: Record<string, unknown> } } } } }[];
    };
  };
  const field = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.allowedGatewayOverrides as {
    items: { enum: string[] };
  };
  deepEqual(field.items.enum, [...GATEWAY_OVERRIDES]);
});

Deno.test({
  name: "deploy manifests are accepted by the apiserver (server-side dry run)",
  ignore: !clusterAvailable(),
  async fn() {
    const cluster = await useCluster();
    await using ns = await createTestNamespace(cluster);
    await installLacquerCrds(ns.client);
    const plural: Record<string, string> = {
      Namespace: "/api/v1/namespaces",
      ServiceAccount: "/api/v1/namespaces/{ns}/serviceaccounts",
      ConfigMap: "/api/v1/namespaces/{ns}/configmaps",
      Service: "/api/v1/namespaces/{ns}/services",
      PodDisruptionBudget: "/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets",
      ClusterRole: "/apis/rbac.authorization.k8s.io/v1/clusterroles",
      ClusterRoleBinding: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
      Role: "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles",
      RoleBinding: "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
      Deployment: "/apis/apps/v1/namespaces/{ns}/deployments",
      GatewayParameters: "/apis/lacquer.dev/v1alpha1/namespaces/{ns}/gatewayparameters",
      CachePolicy: "/apis/lacquer.dev/v1alpha1/namespaces/{ns}/cachepolicies",
      HTTPRoute: "/apis/gateway.networking.k8s.io/v1/namespaces/{ns}/httproutes",
      GatewayClass: "/apis/gateway.networking.k8s.io/v1/gatewayclasses",
      Gateway: "/apis/gateway.networking.k8s.io/v1/namespaces/{ns}/gateways",
      IngressClass: "/apis/networking.k8s.io/v1/ingressclasses",
      Ingress: "/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses",
      ValidatingAdmissionPolicy: "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies",
      ValidatingAdmissionPolicyBinding: "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings",
      ValidatingWebhookConfiguration: "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
    };
    for (const { file, doc } of await documents()) {
      const kind = String(doc.kind);
      if (kind === "CustomResourceDefinition" || kind === "Namespace") continue;
      const meta = doc.metadata as { name: string; namespace?: string };
      const path = plural[kind];
      ok(path, `${file}: no path for ${kind}`);
      // Namespaced objects go into the test namespace, cluster-scoped ones get its name as a suffix (the test cluster
      // may hold one of them already: installLacquerCrds applies the gateways' pod ClusterRole); everything is a dry
      // run, so nothing is created.
      const name = meta.namespace ? meta.name : `${meta.name}-${ns.name}`;
      const body = { ...doc, metadata: { ...meta, name, ...(meta.namespace ? { namespace: ns.name } : {}) } };
      await ns.client.request(path.replace("{ns}", ns.name), { method: "POST", query: { dryRun: "All" }, body });
    }
  },
});

Deno.test({
  name: "CachePolicy CRD accepts the examples and rejects what its schema and CEL rules forbid",
  ignore: !clusterAvailable(),
  async fn() {
    const cluster = await useCluster();
    await using ns = await createTestNamespace(cluster);
    await installLacquerCrds(ns.client);
    const path = `/apis/lacquer.dev/v1alpha1/namespaces/${ns.name}/cachepolicies`;
    const route = { group: "gateway.networking.k8s.io", kind: "HTTPRoute", name: "r" };
    const create = (name: string, spec: Record<string, unknown>) =>
      ns.client.request(path, {
        method: "POST",
        query: { dryRun: "All" },
        body: { apiVersion: "lacquer.dev/v1alpha1", kind: "CachePolicy", metadata: { name }, spec },
      });
    await create("full", {
      targetRefs: [route, { ...route, sectionName: "list" }, { ...route, kind: "Gateway", sectionName: "http" }],
      ttl: { default: "2m", forced: "1h30m", grace: "10s", keep: "0s" },
      key: { query: { mode: "Include", params: ["a"] }, headers: ["Accept-Language"], cookies: ["lang"] },
      bypass: [{ header: { name: "X-Preview", valueRegex: "^1$" } }, { cookie: { name: "preview" } }],
    });
    const rejected: [string, Record<string, unknown>, RegExp][] = [
      ["no-targets", { targetRefs: [] }, /targetRefs/],
      ["twice", { targetRefs: [route, route] }, /must not name one target twice/],
      ["kind", { targetRefs: [{ ...route, kind: "Service" }] }, /Unsupported value: "Service"/],
      ["fraction", { targetRefs: [route], ttl: { grace: "1500ms" } }, /must be whole seconds/],
      ["duration", { targetRefs: [route], ttl: { default: "1d" } }, /ttl\.default/],
      ["params", { targetRefs: [route], key: { query: { mode: "All", params: ["a"] } } }, /only allowed with mode/],
      ["bypass", { targetRefs: [route], bypass: [{}] }, /exactly one of header or cookie/],
      ["regex", { targetRefs: [route], bypass: [{ header: { name: "a", valueRegex: "a".repeat(1025) } }] }, /1024/],
    ];
    for (const [name, spec, message] of rejected) {
      const err = await create(name, spec).then(() => undefined, (e: Error) => e);
      ok(err instanceof KubeApiError && err.code === 422, `${name}: ${err}`);
      ok(message.test(err.message), `${name}: ${err.message}`);
    }
  },
});
