import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { LB_ADDRESSES_CONDITION, LB_IPS_ANNOTATION } from "../../internal/names.ts";
import { clusterAvailable, createTestNamespace, eventually, useCluster } from "./mod.ts";

Deno.test({
  name: "LoadBalancer Services get the addresses they ask for from the pool, all or none, and the condition says why",
  ignore: !clusterAvailable(),
}, async () => {
  await using ns = await createTestNamespace(await useCluster());
  const services = `/api/v1/namespaces/${ns.name}/services`;
  const create = (name: string, spec: Record<string, unknown>, annotations: Record<string, string> = {}) =>
    ns.client.request(services, {
      method: "POST",
      body: {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name, annotations },
        spec: { type: "LoadBalancer", selector: { app: name }, ports: [{ port: 80 }], ...spec },
      },
    });
  const lbStatus = async (name: string) => {
    const s = await ns.client.request<{
      status?: {
        loadBalancer?: { ingress?: { ip?: string }[] };
        conditions?: { type: string; status: string; message: string }[];
      };
    }>(`${services}/${name}`);
    return {
      ips: (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip),
      condition: s.status?.conditions?.find((c) => c.type === LB_ADDRESSES_CONDITION),
    };
  };

  await create("pinned", { loadBalancerIP: "10.250.0.177" });
  await eventually(async () => deepStrictEqual((await lbStatus("pinned")).ips, ["10.250.0.177"]));
  // several addresses in MetalLB's annotation: all of them, or none with the reason in the Service's condition
  await create("pair", {}, { [LB_IPS_ANNOTATION]: "192.0.2.1,10.250.0.178" });
  await eventually(async () => {
    const { ips, condition } = await lbStatus("pair");
    deepStrictEqual(ips, []);
    strictEqual(condition?.status, "False");
    strictEqual(condition?.message, "192.0.2.1 is not in the pool 10.250.0.0/24");
  });
  await ns.client.request(`${services}/pair`, {
    method: "PATCH",
    contentType: "application/merge-patch+json",
    body: { metadata: { annotations: { [LB_IPS_ANNOTATION]: "10.250.0.179,10.250.0.178" } } },
  });
  await eventually(async () => {
    const { ips, condition } = await lbStatus("pair");
    deepStrictEqual(ips, ["10.250.0.179", "10.250.0.178"]);
    strictEqual(condition?.status, "True");
  });
  // an address another Service holds is refused
  await create("thief", { loadBalancerIP: "10.250.0.177" });
  await eventually(async () =>
    strictEqual((await lbStatus("thief")).condition?.message, "10.250.0.177 is used by another Service")
  );
});
