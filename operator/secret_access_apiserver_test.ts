/**
 * The chart's default, cluster-wide install against the real API server: the operator runs as a ServiceAccount with
 * only the RBAC the chart renders (no right to Secrets, `bind` on the Secret ClusterRole) and binds that ClusterRole
 * to itself only where its Gateways need Secrets: the Gateway's namespace and a namespace whose ReferenceGrant permits
 * a certificateRef. A Secret of a namespace without a Gateway or a grant stays unreadable, and the bindings go with
 * the references.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { createKubeClient, type KubeObject, loadKubeConfig } from "../internal/kube/mod.ts";
import {
  clusterAvailable,
  createTestNamespace,
  eventually,
  freePort,
  PAUSE_IMAGE,
  selfSignedCertificate,
  useCluster,
} from "../tests/cluster/mod.ts";
import { installLacquerCrds } from "../tests/cluster/crd_installer.ts";
import { startOperatorProcess } from "../tests/stack/operator_process.ts";
import { createGatewayClass, GW } from "./_test_operator.ts";
import { applyRenderedRbac, HELM_AVAILABLE, RBAC, serviceAccountKubeconfig, statusOf } from "./_test_chart_rbac.ts";
import { remoteSecretBindingName } from "./children.ts";

type Condition = { type: string; status: string; reason?: string };
type ListenerStatus = { name: string; conditions: Condition[] };

async function tlsSecret(name: string, host: string) {
  const dir = await Deno.makeTempDir({ prefix: "lacquer-cert-" });
  try {
    const { cert, key } = await selfSignedCertificate(dir, "site", [host]);
    return {
      metadata: { name },
      type: "kubernetes.io/tls",
      data: { "tls.crt": btoa(cert), "tls.key": btoa(key) },
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const https = (name: string, port: number, ref: { name: string; namespace: string }) => ({
  name,
  port,
  protocol: "HTTPS",
  hostname: `${name}.example.com`,
  tls: { mode: "Terminate", certificateRefs: [{ group: "", kind: "Secret", ...ref }] },
});

Deno.test({
  name: "cluster-wide, the chart's operator reads Secrets only where its Gateways need them, through RoleBindings it " +
    "makes and removes",
  ignore: !clusterAvailable() || !HELM_AVAILABLE,
  async fn() {
    const cluster = await useCluster();
    await using opNs = await createTestNamespace(cluster);
    await using gwNs = await createTestNamespace(cluster);
    await using certNs = await createTestNamespace(cluster);
    await using otherNs = await createTestNamespace(cluster);
    const admin = opNs.client;
    await installLacquerCrds(admin);
    const unique = `lacquer-op-${opNs.name}`;
    const cls = `lacquer-${opNs.name}`;
    await createGatewayClass(admin, cls);
    const removeRbac = await applyRenderedRbac(admin, opNs.name, unique, []);
    const kubeconfig = await serviceAccountKubeconfig(admin, cluster.kubeconfig, opNs.name);
    const op = createKubeClient(loadKubeConfig({ kubeconfig }));
    const secrets = (ns: string) => `/api/v1/namespaces/${ns}/secrets`;
    await admin.request(secrets(gwNs.name), { method: "POST", body: await tlsSecret("cert", "local.example.com") });
    await admin.request(secrets(certNs.name), { method: "POST", body: await tlsSecret("cert", "remote.example.com") });
    await admin.request(secrets(otherNs.name), { method: "POST", body: await tlsSecret("unrelated", "x.example.com") });
    await admin.request(`${GW}/namespaces/${certNs.name}/referencegrants`, {
      method: "POST",
      body: {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "ReferenceGrant",
        metadata: { name: "certs" },
        spec: {
          from: [{ group: "gateway.networking.k8s.io", kind: "Gateway", namespace: gwNs.name }],
          to: [{ group: "", kind: "Secret", name: "cert" }],
        },
      },
    });
    const gateways = `${GW}/namespaces/${gwNs.name}/gateways`;
    await admin.request(gateways, {
      method: "POST",
      body: {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "Gateway",
        metadata: { name: "gw" },
        spec: {
          gatewayClassName: cls,
          listeners: [
            https("local", 443, { name: "cert", namespace: gwNs.name }),
            https("remote", 443, { name: "cert", namespace: certNs.name }),
            // no ReferenceGrant in otherNs: never read, whatever the Gateway's author names
            https("denied", 443, { name: "unrelated", namespace: otherNs.name }),
          ],
        },
      },
    });
    const localBinding = `${RBAC}/namespaces/${gwNs.name}/rolebindings/gw-lacquer-operator`;
    const remoteBinding = `${RBAC}/namespaces/${certNs.name}/rolebindings/${remoteSecretBindingName(gwNs.name, "gw")}`;
    const resolvedRefs = async () => {
      const gw = await admin.request<KubeObject>(`${gateways}/gw`);
      const listeners = (gw.status as { listeners?: ListenerStatus[] } | undefined)?.listeners ?? [];
      return Object.fromEntries(
        listeners.map((l) => [l.name, l.conditions.find((c) => c.type === "ResolvedRefs")?.reason]),
      );
    };
    const logFile = await Deno.makeTempFile({ prefix: "operator-", suffix: ".log" });
    const operator = startOperatorProcess({
      kubeconfig,
      logFile,
      port: freePort(2),
      args: [
        "--gateway-image",
        PAUSE_IMAGE,
        "--gateway-class",
        cls,
        "--secrets-cluster-role",
        `${unique}-secrets`,
        "--service-account",
        `${opNs.name}/op`,
      ],
    });
    let failed = true;
    try {
      // Before any Gateway needs them, the operator reads no Secret anywhere.
      equal(await statusOf(op.request(`/api/v1/secrets`)), 403, "no cluster-wide Secret list");
      await eventually(async () => {
        deepEqual(await resolvedRefs(), { local: "ResolvedRefs", remote: "ResolvedRefs", denied: "RefNotPermitted" });
        // the Gateway's own TLS Secret, written through its binding
        await admin.request(`${secrets(gwNs.name)}/gw-lacquer-tls`);
      }, { timeoutMs: 60_000 });
      await admin.request(localBinding);
      await admin.request(remoteBinding);
      equal(await statusOf(op.request(`${secrets(certNs.name)}/cert`)), 200, "the granted namespace's Secret");
      // The point: a namespace with no Gateway and no grant keeps its Secrets from the operator.
      equal(await statusOf(op.request(`${secrets(otherNs.name)}/unrelated`)), 403, "an unrelated Secret");
      equal(await statusOf(op.request(secrets(otherNs.name))), 403, "listing an unrelated namespace's Secrets");
      equal(await statusOf(op.request(`/api/v1/secrets`)), 403, "listing the cluster's Secrets");
      const rolebindings = await admin.request<{ items: unknown[] }>(`${RBAC}/namespaces/${otherNs.name}/rolebindings`);
      equal(rolebindings.items.length, 0, "no binding where no Gateway needs Secrets");

      // The reference goes: so do the binding and the right.
      await admin.request(`${gateways}/gw`, {
        method: "PATCH",
        contentType: "application/merge-patch+json",
        body: { spec: { listeners: [https("local", 443, { name: "cert", namespace: gwNs.name })] } },
      });
      await eventually(async () => {
        equal(await statusOf(admin.request(remoteBinding)), 404, "the remote binding is deleted");
        equal(await statusOf(op.request(`${secrets(certNs.name)}/cert`)), 403, "and its right with it");
      }, { timeoutMs: 30_000 });
      // The Gateway goes: its own binding goes with its other children (owner reference).
      await admin.request(`${gateways}/gw`, { method: "DELETE" });
      await eventually(async () => {
        equal(await statusOf(admin.request(localBinding)), 404, "the Gateway's binding is deleted");
        equal(await statusOf(op.request(secrets(gwNs.name))), 403, "no Secret right is left behind");
      }, { timeoutMs: 30_000 });
      const log = await Deno.readTextFile(logFile);
      ok(!/forbidden/i.test(log), "no request of the operator was refused");
      failed = false;
    } finally {
      const status = await operator.stop(30_000);
      if (failed) console.error(await Deno.readTextFile(logFile));
      op.close();
      await Deno.remove(logFile);
      await Deno.remove(kubeconfig);
      await removeRbac();
      await admin.request(`${GW}/gatewayclasses/${cls}`, { method: "DELETE" }).catch(() => {});
      equal(status.code, 0, "operator exits 0 on SIGTERM");
    }
  },
});
