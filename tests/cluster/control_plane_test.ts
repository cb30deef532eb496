import { ok } from "node:assert/strict";
import { createKubeClient, loadKubeCredentials } from "../../internal/kube/mod.ts";
import { clusterAvailable, eventually, useCluster } from "./mod.ts";

Deno.test({
  name: "the controller manager and the scheduler run with leader election, as production control planes do",
  ignore: !clusterAvailable(),
}, async () => {
  const cluster = await useCluster();
  const client = createKubeClient(await loadKubeCredentials({ kubeconfig: cluster.kubeconfig }));
  try {
    // A component with leader election holds a Lease named after it in kube-system and renews it.
    for (const name of ["kube-controller-manager", "kube-scheduler"]) {
      await eventually(async () => {
        const lease = await client.request<{ spec?: { holderIdentity?: string; renewTime?: string } }>(
          `/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/${name}`,
        );
        ok(lease.spec?.holderIdentity, `${name} holds its Lease`);
        const age = Date.now() - Date.parse(lease.spec?.renewTime ?? "");
        ok(age < 30_000, `${name} renewed its Lease ${age} ms ago`);
      }, { timeoutMs: 30_000 });
    }
  } finally {
    client.close();
  }
});
