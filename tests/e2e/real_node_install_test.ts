/**
 * Lacquer installed as a user installs it, on a cluster with a real node: the CRDs and `deploy/operator/` applied
 * with kubectl, the operator running in-cluster from the `lacquer-operator` image, a Gateway whose pods run the
 * `lacquer-gateway` image, serving an echo app through its LoadBalancer address, and the operator's admission
 * webhook reached through its Service.
 */
import { match, ok, strictEqual } from "node:assert/strict";
import { clusterAvailable, eventually } from "../cluster/mod.ts";
import { lacquerCacheDir } from "../cluster/layout.ts";
import { nodeImageArchives } from "../cluster/node/node_images.ts";
import { startOwnRealNodeCluster } from "../cluster/node/own_cluster.ts";

const imagesMissing = await nodeImageArchives(lacquerCacheDir(Deno.env)).then(() => false, () => true);
if (clusterAvailable() && imagesMissing) console.warn("real node install test skipped: run `deno task images`");

const DEPLOY = new URL("../../deploy/", import.meta.url).pathname;

const APP = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      containers:
      - name: echo
        image: registry.k8s.io/gateway-api/echo-basic:v1.6.1
        env:
        - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        - {name: NAMESPACE, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
        ports: [{containerPort: 3000}]
        readinessProbe: {httpGet: {path: /, port: 3000}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: default}
spec:
  selector: {app: echo}
  ports: [{name: http, port: 8080, targetPort: 3000}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: shop, namespace: default}
spec:
  gatewayClassName: lacquer
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: echo, namespace: default}
spec:
  parentRefs: [{name: shop}]
  hostnames: ["shop.example.com"]
  rules:
  - backendRefs: [{name: echo, port: 8080}]
`;

const LOOKAHEAD = `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: lookahead, namespace: default}
spec:
  parentRefs: [{name: shop}]
  rules:
  - matches: [{path: {type: RegularExpression, value: "/(?=admin)"}}]
    backendRefs: [{name: echo, port: 8080}]
`;

Deno.test({
  name: "on a real node, the operator and a Gateway run from the built images and serve traffic",
  ignore: !clusterAvailable() || imagesMissing,
  sanitizeResources: false,
}, async () => {
  await using cluster = await startOwnRealNodeCluster({ gatewayApiChannel: "standard" });
  const { layout, kubectl, inNetns } = cluster;
  try {
    await kubectl("apply", "--server-side", "-f", `${DEPLOY}crds/`);
    await kubectl("apply", "--server-side", "-f", `${DEPLOY}operator/`);
    await kubectl("-n", "lacquer-system", "rollout", "status", "deployment/lacquer-operator", "--timeout=120s");
    const operator = JSON.parse(
      (await kubectl(
        "-n",
        "lacquer-system",
        "get",
        "pods",
        "-l",
        "app.kubernetes.io/name=lacquer-operator",
        "-o",
        "json",
      ))
        .stdout,
    );
    ok(
      operator.items.every((p: { spec: { containers: { image: string }[] } }) =>
        p.spec.containers[0].image.startsWith("ghcr.io/lacquer/lacquer-operator:")
      ),
      "the operator runs from its image",
    );

    const manifest = `${layout.dir}/shop.yaml`;
    await Deno.writeTextFile(manifest, APP);
    await kubectl("apply", "-f", manifest);
    await kubectl("wait", "--for=condition=Programmed", "gateway/shop", "--timeout=120s");
    const gatewayPods = JSON.parse(
      (await kubectl("get", "pods", "-l", "gateway.networking.k8s.io/gateway-name=shop", "-o", "json")).stdout,
    );
    ok(gatewayPods.items.length > 0, "the Gateway has pods");
    for (const p of gatewayPods.items) {
      ok(p.spec.containers[0].image.startsWith("ghcr.io/lacquer/lacquer-gateway:"), "gateway pods run its image");
    }
    const address = (await kubectl("get", "gateway", "shop", "-o", "jsonpath={.status.addresses[0].value}")).stdout;
    ok(address, "the Gateway has an address");

    // both echo pods answer through the Gateway; another host gets the gateway's 404
    const pods = new Set<string>();
    await eventually(async () => {
      const out = await inNetns("curl", ["-sf", "-m", "3", "-H", "Host: shop.example.com", `http://${address}/a`]);
      pods.add(JSON.parse(out.stdout).pod);
      strictEqual(pods.size, 2);
    }, { timeoutMs: 30_000 });
    const other = await inNetns("curl", [
      "-s",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "-H",
      "Host: other.example.com",
      `http://${address}/`,
    ]);
    strictEqual(other.stdout, "404");

    // The operators' webhook (their own certificate, its CA put into the configuration) refuses a regex the gateway
    // cannot compile, reached by the API server through kube-proxy and the webhook Service.
    const lookahead = `${layout.dir}/lookahead.yaml`;
    await Deno.writeTextFile(lookahead, LOOKAHEAD);
    await eventually(async () => {
      const err = await kubectl("apply", "--dry-run=server", "-f", lookahead).then(() => undefined, (e: Error) => e);
      match(
        String(err),
        /admission webhook "validate\.lacquer\.dev" denied the request: .*lookaround is not supported/,
      );
    }, { timeoutMs: 60_000 });
  } catch (err) {
    cluster.keepLogs();
    throw err;
  }
});
