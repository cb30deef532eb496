/**
 * The chart's default, cluster-wide install against the real API server: the operator runs as a ServiceAccount with
 * only the RBAC the chart renders (no right to Secrets, `bind` on the Secret ClusterRole) and binds that ClusterRole
 * to itself only where its Gateways need Secrets: the Gateway's namespace and a namespace whose ReferenceGrant permits
 * a certificateRef, or the backend namespace whose BackendTLSPolicy names a CA Secret. A Secret of a namespace without
 * a Gateway or a grant stays unreadable, and the bindings go with the references.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { createKubeClient, type KubeClient, type KubeObject, loadKubeCredentials } from "../internal/kube/mod.ts";
import {
  clusterAvailable,
  createTestNamespace,
  eventually,
  freePort,
  type LoggedProcess,
  PAUSE_IMAGE,
  selfSignedCertificate,
  type TestCluster,
  type TestNamespace,
  useCluster,
} from "../tests/cluster/mod.ts";
import { installLacquerCrds } from "../tests/cluster/crd_installer.ts";
import { startOperatorProcess } from "../tests/stack/operator_process.ts";
import { createGatewayClass, GW } from "./_test_operator.ts";
import { applyRenderedRbac, HELM_AVAILABLE, RBAC, serviceAccountKubeconfig, statusOf } from "./_test_chart_rbac.ts";
import { remoteSecretBindingName } from "./children.ts";

type Condition = { type: string; status: string; reason?: string; observedGeneration?: number };
type ListenerStatus = { name: string; conditions: Condition[] };

async function tlsSecret(name: string, host: string, withCa = false) {
  const dir = await Deno.makeTempDir({ prefix: "lacquer-cert-" });
  try {
    const { cert, key } = await selfSignedCertificate(dir, "site", [host]);
    return {
      metadata: { name },
      type: "kubernetes.io/tls",
      data: { "tls.crt": btoa(cert), "tls.key": btoa(key), ...(withCa ? { "ca.crt": btoa(cert) } : {}) },
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The chart's cluster-wide operator for one test: its ServiceAccount with only the RBAC the chart renders. */
interface ChartOperator extends AsyncDisposable {
  /** The GatewayClass it handles. */
  cls: string;
  /** A client with the operator's rights. */
  op: KubeClient;
  /** Where its log goes. */
  logFile: string;
  /** Its metrics port on 127.0.0.1. */
  port: number;
  /** Starts it (after the test's objects exist). */
  start(): void;
  /** Set when the test passed (its log is printed otherwise). */
  passed: boolean;
}

async function chartOperator(cluster: TestCluster, opNs: TestNamespace): Promise<ChartOperator> {
  const admin = opNs.client;
  await installLacquerCrds(admin);
  const unique = `lacquer-op-${opNs.name}`;
  const cls = `lacquer-${opNs.name}`;
  await createGatewayClass(admin, cls);
  const removeRbac = await applyRenderedRbac(admin, opNs.name, unique, []);
  const kubeconfig = await serviceAccountKubeconfig(admin, cluster.kubeconfig, opNs.name);
  const op = createKubeClient(await loadKubeCredentials({ kubeconfig }));
  const logFile = await Deno.makeTempFile({ prefix: "operator-", suffix: ".log" });
  const port = freePort(2);
  let operator: LoggedProcess | undefined;
  const self: ChartOperator = {
    cls,
    op,
    logFile,
    port,
    passed: false,
    start() {
      const args = ["--gateway-image", PAUSE_IMAGE, "--gateway-class", cls];
      args.push("--secrets-cluster-role", `${unique}-secrets`, "--service-account", `${opNs.name}/op`);
      operator = startOperatorProcess({ kubeconfig, logFile, port, args });
    },
    async [Symbol.asyncDispose]() {
      const status = await operator?.stop(30_000);
      if (!self.passed) console.error(await Deno.readTextFile(logFile));
      op.close();
      await Deno.remove(logFile);
      await Deno.remove(kubeconfig);
      await removeRbac();
      await admin.request(`${GW}/gatewayclasses/${cls}`, { method: "DELETE" }).catch(() => {});
      equal(status?.code, 0, "operator exits 0 on SIGTERM");
    },
  };
  return self;
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
    await using operator = await chartOperator(cluster, opNs);
    const { cls, op, logFile } = operator;
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
    operator.start();
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
    // The Gateway goes: its own binding goes with its other children (owner reference). On a cluster started for
    // this run, the garbage collector learns of the Gateway kind (its CRD installed after it started) only at its next
    // discovery resync, every 30 s, and then syncs the new monitors: under load that takes longer than 30 s.
    await admin.request(`${gateways}/gw`, { method: "DELETE" });
    await eventually(async () => {
      equal(await statusOf(admin.request(localBinding)), 404, "the Gateway's binding is deleted");
      equal(await statusOf(op.request(secrets(gwNs.name))), 403, "no Secret right is left behind");
    }, { timeoutMs: 90_000 });
    const log = await Deno.readTextFile(logFile);
    ok(!/forbidden/i.test(log), "no request of the operator was refused");
    operator.passed = true;
  },
});

Deno.test({
  name: "cluster-wide, the chart's operator reads the CA Secret of a BackendTLSPolicy in the backend's namespace " +
    "through a RoleBinding it makes there, and removes it with the policy",
  ignore: !clusterAvailable() || !HELM_AVAILABLE,
  async fn() {
    const cluster = await useCluster();
    await using opNs = await createTestNamespace(cluster);
    await using gwNs = await createTestNamespace(cluster);
    await using svcNs = await createTestNamespace(cluster);
    const admin = opNs.client;
    await using operator = await chartOperator(cluster, opNs);
    const { cls, op, logFile, port } = operator;
    const secrets = `/api/v1/namespaces/${svcNs.name}/secrets`;
    const ca = await tlsSecret("ca", "api.internal", true);
    await admin.request(secrets, { method: "POST", body: ca });
    await admin.request(`/api/v1/namespaces/${svcNs.name}/services`, {
      method: "POST",
      body: { metadata: { name: "api" }, spec: { ports: [{ name: "https", port: 443 }] } },
    });
    await admin.request(`${GW}/namespaces/${svcNs.name}/referencegrants`, {
      method: "POST",
      body: {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "ReferenceGrant",
        metadata: { name: "routes" },
        spec: {
          from: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: gwNs.name }],
          to: [{ group: "", kind: "Service" }],
        },
      },
    });
    const policies = `${GW}/namespaces/${svcNs.name}/backendtlspolicies`;
    await admin.request(policies, {
      method: "POST",
      body: {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "BackendTLSPolicy",
        metadata: { name: "p" },
        spec: {
          targetRefs: [{ group: "", kind: "Service", name: "api" }],
          validation: { caCertificateRefs: [{ group: "", kind: "Secret", name: "ca" }], hostname: "api.internal" },
        },
      },
    });
    await admin.request(`${GW}/namespaces/${gwNs.name}/gateways`, {
      method: "POST",
      body: {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "Gateway",
        metadata: { name: "gw" },
        spec: { gatewayClassName: cls, listeners: [{ name: "http", port: 80, protocol: "HTTP" }] },
      },
    });
    await admin.request(`${GW}/namespaces/${gwNs.name}/httproutes`, {
      method: "POST",
      body: {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "HTTPRoute",
        metadata: { name: "r" },
        spec: {
          parentRefs: [{ name: "gw" }],
          rules: [{ backendRefs: [{ name: "api", namespace: svcNs.name, port: 443 }] }],
        },
      },
    });
    const binding = `${RBAC}/namespaces/${svcNs.name}/rolebindings/${remoteSecretBindingName(gwNs.name, "gw")}`;
    const policyConditions = async () => {
      const policy = await admin.request<KubeObject>(`${policies}/p`);
      const ancestors = (policy.status as { ancestors?: { conditions: Condition[] }[] } | undefined)?.ancestors ?? [];
      return Object.fromEntries((ancestors[0]?.conditions ?? []).map((c) => [c.type, c.reason]));
    };
    const routing = async () => {
      const cm = await admin.request<KubeObject>(`/api/v1/namespaces/${gwNs.name}/configmaps/gw-lacquer`);
      return (cm.data as Record<string, string> | undefined)?.["routing.json"] ?? "";
    };
    const problems = async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return text.match(/^lacquer_operator_backend_tls_policy_problems\{reason="NoValidCACertificate"\} (\d+)$/m)?.[1];
    };
    operator.start();
    await eventually(async () => {
      deepEqual(await policyConditions(), { Accepted: "Accepted", ResolvedRefs: "ResolvedRefs" });
      // the Secret's ca.crt, as the backend's CA certificates
      const pem = atob(ca.data["ca.crt"]!).trim().replaceAll("\n", "\\n");
      ok((await routing()).includes(pem), "routing.json carries the Secret's ca.crt");
    }, { timeoutMs: 60_000 });
    await admin.request(binding);
    equal(await statusOf(op.request(`${secrets}/ca`)), 200, "the policy's namespace's Secret");

    // A Secret that does not exist: the spec's reasons, and the binding stays while the policy names a Secret.
    await admin.request(`${policies}/p`, {
      method: "PATCH",
      contentType: "application/merge-patch+json",
      body: { spec: { validation: { caCertificateRefs: [{ group: "", kind: "Secret", name: "gone" }] } } },
    });
    await eventually(async () => {
      deepEqual(await policyConditions(), {
        Accepted: "NoValidCACertificate",
        ResolvedRefs: "InvalidCACertificateRef",
      });
      equal(await problems(), "1", "the metric counts the policy");
      const events = await admin.request<{ items: { regarding?: { name?: string }; reason?: string }[] }>(
        `/apis/events.k8s.io/v1/namespaces/${svcNs.name}/events`,
      );
      ok(
        events.items.some((e) => e.regarding?.name === "p" && e.reason === "NoValidCACertificate"),
        "kubectl describe shows an Event on the policy",
      );
    }, { timeoutMs: 30_000 });
    // The Gateway is reconciled again (its route changes): the problem is logged once, not per reconcile.
    await admin.request(`${GW}/namespaces/${gwNs.name}/httproutes/r`, {
      method: "PATCH",
      contentType: "application/merge-patch+json",
      body: { spec: { hostnames: ["api.example.com"] } },
    });
    await eventually(async () => {
      const route = await admin.request<KubeObject>(`${GW}/namespaces/${gwNs.name}/httproutes/r`);
      const parents = (route.status as { parents?: { conditions: Condition[] }[] } | undefined)?.parents ?? [];
      equal(parents[0]?.conditions.find((c) => c.type === "Accepted")?.observedGeneration, 2);
    }, { timeoutMs: 30_000 });
    const warnings = (await Deno.readTextFile(logFile)).split("\n")
      .filter((l) => l.includes('"BackendTLSPolicy has a problem"') && l.includes('"NoValidCACertificate"'));
    equal(warnings.length, 1, warnings.join("\n"));
    ok(warnings[0].includes(`"policy":"${svcNs.name}/p"`), warnings[0]);

    // The policy goes: so do the binding and the right.
    await admin.request(`${policies}/p`, { method: "DELETE" });
    await eventually(async () => {
      equal(await statusOf(admin.request(binding)), 404, "the binding in the backend's namespace is deleted");
      equal(await statusOf(op.request(`${secrets}/ca`)), 403, "and its right with it");
      equal(await problems(), "0", "a deleted policy is not counted");
    }, { timeoutMs: 30_000 });
    const log = await Deno.readTextFile(logFile);
    ok(!/forbidden/i.test(log), "no request of the operator was refused");
    operator.passed = true;
  },
});
