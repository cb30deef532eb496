import { deepEqual, equal, ok } from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { CONTROLLER_NAME } from "../internal/names.ts";
import { clusterAvailable, createTestNamespace, eventually, runCommand, useCluster } from "../tests/cluster/mod.ts";
import {
  CHART_DIR,
  gatewayApiCrds,
  helmBinary,
  helmTemplate,
  RENDERED_MANIFESTS,
  renderManifests,
  VENDORED_GATEWAY_API_CRDS,
} from "./render_manifests.ts";

const UPDATE = Deno.env.get("LACQUER_UPDATE_GOLDEN") === "1";
const HELM_AVAILABLE = await Deno.stat(helmBinary()).then(() => true, () => false);

/** Value sets whose `helm template` output is kept as a golden file in the chart's testdata/. */
const GOLDEN_CASES: Record<string, string[]> = {
  default: [],
  all_options: [
    "createNamespace=true",
    "operator.replicas=3",
    "operator.logLevel=debug",
    "operator.gatewayClasses={lacquer,lacquer-internal}",
    "operator.extraArgs={--workers=8}",
    "operator.nodeSelector.kubernetes\\.io/os=linux",
    "image.operator.tag=1.2.3",
    "image.gateway.repository=registry.example.com/lacquer-gateway",
    "gatewayClass.name=varnish",
    "metrics.serviceMonitor.enabled=true",
    "metrics.serviceMonitor.labels.release=prometheus",
    "metrics.grafanaDashboard.enabled=true",
    "ingressClass.default=true",
    "ingressClass.gateway.create=true",
  ],
  namespaced: ["scope.namespaces={team-a,team-b}"],
  single_replica: [
    "operator.replicas=1",
    "operator.leaderElect=false",
    "gatewayClass.create=false",
    "ingressClass.create=false",
  ],
};

function helm(args: string[], allowFailure = false) {
  return runCommand(helmBinary(), { args, allowFailure });
}

Deno.test({
  name: "helm lint accepts the chart with every option and values.schema.json refuses bad values",
  ignore: !HELM_AVAILABLE,
  async fn() {
    for (const set of Object.values(GOLDEN_CASES)) {
      await helm(["lint", "--strict", CHART_DIR, ...set.flatMap((s) => ["--set", s])]);
    }
    const bad: [string, RegExp][] = [
      ["operator.replicas=0", /replicas/],
      ["operator.logLevel=loud", /logLevel/],
      ["operator.leaderElect=false", /replicas/],
      ["gatewayClass.parameters.image=x", /image/],
      ["unknownValue=1", /unknownValue/],
      ["scope.namespaces={Team_A}", /namespaces/],
    ];
    for (const [set, message] of bad) {
      const result = await helm(["lint", CHART_DIR, "--set", set], true);
      ok(result.code !== 0, `${set} was accepted`);
      ok(message.test(result.stdout + result.stderr), `${set}: ${result.stdout}${result.stderr}`);
    }
  },
});

Deno.test({
  name: "helm template output matches the golden files for each value set",
  ignore: !HELM_AVAILABLE,
  async fn(t) {
    for (const [name, set] of Object.entries(GOLDEN_CASES)) {
      await t.step(name, async () => {
        const golden = `${CHART_DIR}/testdata/${name}.yaml`;
        const rendered = await helmTemplate(set);
        for (const doc of parseAllDocuments(rendered)) equal(doc.errors.length, 0, `${name}: ${doc.errors.join("; ")}`);
        if (UPDATE) await Deno.writeTextFile(golden, rendered);
        const expected = await Deno.readTextFile(golden).catch(() => {
          throw new Error(`Cannot read golden file "${golden}": run LACQUER_UPDATE_GOLDEN=1 deno task test`);
        });
        equal(rendered, expected, `${golden} is out of date: run LACQUER_UPDATE_GOLDEN=1 deno task test`);
      });
    }
  },
});

Deno.test({
  name: "deploy/operator/lacquer.yaml and the vendored Gateway API CRDs are what deploy:render writes",
  ignore: !HELM_AVAILABLE,
  async fn() {
    const stale = "is out of date: run `deno task deploy:render`";
    equal(await Deno.readTextFile(RENDERED_MANIFESTS), await renderManifests(), `${RENDERED_MANIFESTS} ${stale}`);
    equal(
      await Deno.readTextFile(VENDORED_GATEWAY_API_CRDS),
      await gatewayApiCrds(),
      `${VENDORED_GATEWAY_API_CRDS} ${stale}`,
    );
  },
});

Deno.test({
  name: "the chart's CRDs are every file of deploy/crds and the Gateway API ones only on request",
  ignore: !HELM_AVAILABLE,
  async fn() {
    const crdNames = async (set: string[]) =>
      parseAllDocuments(
        (await helm(["template", "x", CHART_DIR, "--include-crds", "--kube-version", "1.36.3", ...set])).stdout,
      ).map((d) => d.toJS()).filter((d) => d?.kind === "CustomResourceDefinition").map((d) => d.metadata.name).sort();
    const own: string[] = [];
    for (const entry of Deno.readDirSync(new URL("./crds/", import.meta.url))) {
      for (const d of parseAllDocuments(await Deno.readTextFile(new URL(`./crds/${entry.name}`, import.meta.url)))) {
        own.push(d.toJS().metadata.name);
      }
    }
    ok(own.length >= 2);
    deepEqual(await crdNames([]), own.sort());
    const withGatewayApi = await crdNames(["--set", "gatewayApiCrds.install=true"]);
    ok(withGatewayApi.includes("gateways.gateway.networking.k8s.io"));
    deepEqual(withGatewayApi.filter((n) => n.endsWith(".lacquer.dev")), own);
  },
});

Deno.test({
  name: "helm install runs the operator in the cluster and it programs a Gateway of the chart's class",
  ignore: !HELM_AVAILABLE || !clusterAvailable(),
  async fn() {
    const cluster = await useCluster();
    await using ns = await createTestNamespace(cluster);
    const release = ns.name;
    const className = `${ns.name}-class`;
    const install = await helm([
      "install",
      release,
      CHART_DIR,
      "--kubeconfig",
      cluster.kubeconfig,
      "--namespace",
      ns.name,
      "--set",
      `gatewayClass.name=${className}`,
      "--set",
      `operator.gatewayClasses={${className}}`,
      "--set",
      "gatewayClass.parameters.service.type=ClusterIP",
      // IngressClasses are cluster-scoped: one per release.
      "--set",
      `ingressClass.name=${ns.name}-ingress`,
      // The chart's webhook for this namespace only: other tests' routes are theirs.
      "--set",
      `admission.webhook.namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=${ns.name}`,
      "--wait",
      "--timeout",
      "3m",
    ], true);
    try {
      equal(install.code, 0, install.stderr);
      const get = (path: string) => ns.client.request<Record<string, unknown>>(path);
      const deployment = await get(`/apis/apps/v1/namespaces/${ns.name}/deployments/${release}-operator`) as {
        spec: { replicas: number; template: { spec: { containers: { image: string; args: string[] }[] } } };
        status: { readyReplicas?: number };
      };
      equal(deployment.spec.replicas, 2);
      equal(deployment.status.readyReplicas, 2);
      equal(deployment.spec.template.spec.containers[0].image, "ghcr.io/lacquer/lacquer-operator:0.1.0");
      await get(`/apis/policy/v1/namespaces/${ns.name}/poddisruptionbudgets/${release}-operator`);
      await get(`/apis/rbac.authorization.k8s.io/v1/clusterroles/${release}-operator`);
      await get(`/apis/lacquer.dev/v1alpha1/namespaces/${ns.name}/gatewayparameters/${className}-default`);
      // One replica leads; the GatewayClass it accepted proves that it runs with the chart's RBAC.
      await eventually(async () => {
        const gc = await get(`/apis/gateway.networking.k8s.io/v1/gatewayclasses/${className}`) as {
          spec: { controllerName: string };
          status?: { conditions?: { type: string; status: string }[] };
        };
        equal(gc.spec.controllerName, CONTROLLER_NAME);
        ok(gc.status?.conditions?.some((c) => c.type === "Accepted" && c.status === "True"), JSON.stringify(gc.status));
      }, { timeoutMs: 60_000 });
      await ns.client.request(`/apis/gateway.networking.k8s.io/v1/namespaces/${ns.name}/gateways`, {
        method: "POST",
        body: {
          apiVersion: "gateway.networking.k8s.io/v1",
          kind: "Gateway",
          metadata: { name: "gw", namespace: ns.name },
          spec: { gatewayClassName: className, listeners: [{ name: "http", port: 80, protocol: "HTTP" }] },
        },
      });
      await eventually(async () => {
        const gw = await get(`/apis/gateway.networking.k8s.io/v1/namespaces/${ns.name}/gateways/gw`) as {
          status?: { conditions?: { type: string; status: string }[] };
        };
        ok(gw.status?.conditions?.some((c) => c.type === "Accepted" && c.status === "True"), JSON.stringify(gw.status));
        // The gateway's Deployment uses the image the chart passed to the operator.
        const child = await get(`/apis/apps/v1/namespaces/${ns.name}/deployments/gw`) as {
          spec: { template: { spec: { containers: { image: string }[] } } };
        };
        equal(child.spec.template.spec.containers[0].image, "ghcr.io/lacquer/lacquer-gateway:0.1.0");
      }, { timeoutMs: 60_000 });
      // Programmed: the gateway pod (lacquer chaperone, varnishd, ghost) serves what the in-cluster operator wrote.
      await eventually(async () => {
        const gw = await get(`/apis/gateway.networking.k8s.io/v1/namespaces/${ns.name}/gateways/gw`) as {
          status?: { conditions?: { type: string; status: string }[] };
        };
        ok(
          gw.status?.conditions?.some((c) => c.type === "Programmed" && c.status === "True"),
          JSON.stringify(gw.status),
        );
      }, { timeoutMs: 120_000 });
      // The operators' webhook, reached through its Service with the certificate they made, refuses a regex the
      // gateway cannot compile.
      await eventually(async () => {
        const err = await ns.client.request(`/apis/gateway.networking.k8s.io/v1/namespaces/${ns.name}/httproutes`, {
          method: "POST",
          query: { dryRun: "All" },
          body: {
            apiVersion: "gateway.networking.k8s.io/v1",
            kind: "HTTPRoute",
            metadata: { name: "lookahead" },
            spec: { rules: [{ matches: [{ path: { type: "RegularExpression", value: "/(?=a)" } }] }] },
          },
        }).then(() => undefined, (e: Error) => e);
        ok(err?.message.includes('admission webhook "validate.lacquer.dev" denied'), String(err));
      }, { timeoutMs: 90_000 });
    } finally {
      await ns.client.request(`/apis/gateway.networking.k8s.io/v1/namespaces/${ns.name}/gateways/gw`, {
        method: "DELETE",
      }).catch(() => {});
      await helm(["uninstall", release, "--kubeconfig", cluster.kubeconfig, "--namespace", ns.name, "--wait"], true);
    }
  },
});
