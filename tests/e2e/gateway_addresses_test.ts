/**
 * End to end on the local cluster: a Gateway's requested `spec.addresses` reach its Service's load balancer; an
 * address it cannot use is reported as `Programmed=False` (`AddressNotUsable`), an address type Lacquer does not
 * support as `Accepted=False` (`UnsupportedAddress`), and a usable address serves traffic and is the Gateway's
 * `status.addresses`.
 */
import { deepEqual, equal, match } from "node:assert/strict";
import { clusterAvailable, eventually } from "../cluster/mod.ts";
import { apply, applyApp, echoApp, get, GW_API, prefix, route, startE2eGateway } from "./_e2e_gateway.ts";

interface GatewayStatus {
  status?: {
    addresses?: { type: string; value: string }[];
    conditions?: { type: string; status: string; reason: string; message: string; observedGeneration?: number }[];
  };
  metadata: { generation: number };
}

Deno.test({
  name: "a Gateway gets the address it requests, and says why when it cannot",
  ignore: !clusterAvailable(),
}, async () => {
  await using gw = await startE2eGateway({
    setup: async ({ client, name }) => {
      await applyApp(client, echoApp(name, "echo", 1));
      const web = route(name, "web", [{ matches: prefix("/"), backendRefs: [{ name: "echo", port: 8080 }] }]);
      await apply(client, `${GW_API}/namespaces/${name}/httproutes`, web);
    },
  });
  const { client } = gw;
  const path = `${GW_API}/namespaces/${gw.ns.name}/gateways/gw`;
  const request = (addresses: unknown[]) =>
    client.request(path, {
      method: "PATCH",
      contentType: "application/merge-patch+json",
      body: { spec: { addresses } },
    });
  const condition = async (type: string) => {
    const object = await client.request<GatewayStatus>(path);
    const c = object.status?.conditions?.find((c) => c.type === type);
    equal(c?.observedGeneration, object.metadata.generation, "the condition is about the current spec");
    return { ...c!, addresses: object.status?.addresses ?? [] };
  };

  await request([{ type: "Hostname", value: "gw.example.com" }]);
  await eventually(async () => {
    const accepted = await condition("Accepted");
    deepEqual([accepted.status, accepted.reason], ["False", "UnsupportedAddress"]);
    equal(accepted.message, 'spec.addresses[0]: type "Hostname" is not supported, only IPAddress');
  }, { timeoutMs: 30_000 });

  await request([{ type: "IPAddress", value: "192.0.2.1" }]);
  await eventually(async () => {
    const programmed = await condition("Programmed");
    deepEqual([programmed.status, programmed.reason], ["False", "AddressNotUsable"]);
    match(programmed.message, /cannot assign 192\.0\.2\.1: 192\.0\.2\.1 is not in the pool/);
    deepEqual(programmed.addresses, []);
    equal((await condition("Accepted")).status, "True");
  }, { timeoutMs: 30_000 });

  await request([{ type: "IPAddress", value: "10.250.0.150" }]);
  await eventually(async () => {
    const programmed = await condition("Programmed");
    equal(programmed.status, "True", programmed.message);
    deepEqual(programmed.addresses, [{ type: "IPAddress", value: "10.250.0.150" }]);
  }, { timeoutMs: 60_000 });
  await eventually(async () => equal((await get("10.250.0.150", "/through-requested-address")).status, 200));
});
