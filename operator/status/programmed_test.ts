import { deepEqual, equal, match } from "node:assert/strict";
import { APPLIED_ROUTING_ANNOTATION, APPLIED_VCL_ANNOTATION } from "../../internal/names.ts";
import { gatewaySchema, podSchema, serviceSchema } from "../api_types.ts";
import { contentHash } from "../../internal/content_hash.ts";
import { gatewayProgrammedStatus } from "./programmed.ts";

const gateway = gatewaySchema.parse({
  metadata: { name: "gw", namespace: "ns", generation: 4 },
  spec: { gatewayClassName: "lacquer", listeners: [] },
});
const managed = { "app.kubernetes.io/managed-by": "lacquer" };
const clusterIpService = serviceSchema.parse({
  metadata: { name: "gw", namespace: "ns", labels: managed },
  spec: { type: "ClusterIP", clusterIP: "10.96.0.10", clusterIPs: ["10.96.0.10"] },
});
const routingJson = '{"version":1,"listeners":[],"vhosts":{}}\n';
const mainVcl = "vcl 4.1;\n";

function pod(name: string, ready: boolean, hashes?: { routing: string; vcl: string }) {
  return podSchema.parse({
    metadata: {
      name,
      namespace: "ns",
      annotations: hashes ? { [APPLIED_ROUTING_ANNOTATION]: hashes.routing, [APPLIED_VCL_ANNOTATION]: hashes.vcl } : {},
    },
    status: { conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
  });
}

const current = { routing: contentHash(routingJson), vcl: contentHash(mainVcl) };

Deno.test("gatewayProgrammedStatus() is True only when every ready pod applied the current configuration", () => {
  const base = { gateway, accepted: true, service: clusterIpService, hashes: current };
  const ok = gatewayProgrammedStatus({ ...base, pods: [pod("a", true, current), pod("b", false)] });
  equal(ok.condition.status, "True");
  deepEqual(ok.addresses, [{ type: "IPAddress", value: "10.96.0.10" }]);
  equal(ok.condition.observedGeneration, 4);

  const stale = gatewayProgrammedStatus({
    ...base,
    pods: [pod("a", true, current), pod("b", true, { routing: "sha256:old", vcl: current.vcl })],
  });
  equal(stale.condition.reason, "Pending");
  equal(stale.condition.message, "1 of 2 ready gateway pods have applied the current configuration");

  equal(
    gatewayProgrammedStatus({ ...base, pods: [pod("a", false, current)] }).condition.message,
    "No gateway pod is ready",
  );
  equal(gatewayProgrammedStatus({ ...base, service: undefined, pods: [] }).condition.reason, "Pending");
  equal(gatewayProgrammedStatus({ ...base, accepted: false, pods: [] }).condition.reason, "Invalid");
});

Deno.test("gatewayProgrammedStatus() takes addresses from the load balancer and waits for one", () => {
  const lb = serviceSchema.parse({
    metadata: { name: "gw", namespace: "ns", labels: managed },
    spec: { type: "LoadBalancer", clusterIP: "10.96.0.10" },
    status: { loadBalancer: { ingress: [{ ip: "203.0.113.7" }, { hostname: "lb.example.com" }] } },
  });
  const base = { gateway, accepted: true, hashes: current, pods: [pod("a", true, current)] };
  deepEqual(gatewayProgrammedStatus({ ...base, service: lb }).addresses, [
    { type: "IPAddress", value: "203.0.113.7" },
    { type: "Hostname", value: "lb.example.com" },
  ]);
  const pending = serviceSchema.parse({ ...lb, status: {} });
  equal(gatewayProgrammedStatus({ ...base, service: pending }).condition.reason, "AddressNotAssigned");
});

Deno.test("gatewayProgrammedStatus() reports the requested addresses the load balancer did not assign", async (t) => {
  const requesting = gatewaySchema.parse({
    ...gateway,
    spec: { ...gateway.spec, addresses: [{ value: "10.250.0.200" }, { type: "IPAddress", value: "10.250.0.201" }] },
  });
  const lb = (status: unknown, type = "LoadBalancer") =>
    serviceSchema.parse({ metadata: { name: "gw", namespace: "ns", labels: managed }, spec: { type }, status });
  const ingress = (...ips: string[]) => ({ loadBalancer: { ingress: ips.map((ip) => ({ ip })) } });
  const notUsable = { type: "lacquer.dev/LoadBalancerAddresses", status: "False", message: "not in the pool" };
  const cases: { name: string; service: ReturnType<typeof lb>; want: [string, string]; addresses: string[] }[] = [
    {
      name: "both assigned",
      service: lb(ingress("10.250.0.200", "10.250.0.201")),
      want: ["True", "1 ready gateway pods serve the current configuration"],
      addresses: ["10.250.0.200", "10.250.0.201"],
    },
    {
      name: "not yet",
      service: lb({}),
      want: ["AddressNotAssigned", "Waiting for the load balancer to assign 10.250.0.200, 10.250.0.201"],
      addresses: [],
    },
    {
      name: "refused by the load balancer",
      service: lb({ loadBalancer: {}, conditions: [notUsable] }),
      want: ["AddressNotUsable", "The load balancer cannot assign 10.250.0.200, 10.250.0.201: not in the pool"],
      addresses: [],
    },
    {
      name: "another address assigned",
      service: lb(ingress("10.250.0.200", "10.250.0.9")),
      want: ["AddressNotUsable", "The load balancer assigned 10.250.0.200, 10.250.0.9, not the requested 10.250.0.201"],
      addresses: ["10.250.0.200", "10.250.0.9"],
    },
    {
      name: "no load balancer",
      service: lb({}, "ClusterIP"),
      want: ["AddressNotUsable", "spec.addresses needs a gateway Service of type LoadBalancer, not ClusterIP"],
      addresses: [],
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const got = gatewayProgrammedStatus({
        gateway: requesting,
        accepted: true,
        hashes: current,
        pods: [pod("a", true, current)],
        service: c.service,
      });
      deepEqual([
        got.condition.reason === "Programmed" ? got.condition.status : got.condition.reason,
        got.condition.message,
      ], c.want);
      deepEqual(got.addresses.map((a) => a.value), c.addresses);
    });
  }
});

Deno.test("gatewayProgrammedStatus() says which pods rejected the current configuration", () => {
  const p = pod("gw-1", true, { routing: current.routing, vcl: "sha256:previous" });
  const problem = { kind: "VCLRejected" as const, hash: current.vcl, pods: ["gw-1"], message: "Expected ';'" };
  const base = { gateway, accepted: true, service: clusterIpService, hashes: current, pods: [p] };
  const invalid =
    gatewayProgrammedStatus({ ...base, rejections: { problems: [problem], vclSource: "cm", podCount: 1 } }).condition;
  equal(invalid.status, "False");
  equal(invalid.reason, "Invalid");
  match(
    invalid.message,
    /^Gateway pods rejected the current configuration:\nmain\.vcl was rejected.*\(your VCL: cm\): 1 of 1 gateway pods \(gw-1\), configuration sha256:[0-9a-f]{12}:\nExpected ';'$/,
  );
  equal(gatewayProgrammedStatus(base).condition.reason, "Pending", "without rejections the pod is just behind");
});

Deno.test("gatewayProgrammedStatus() stays True with routes left out, and tells them", () => {
  const problem = {
    kind: "RoutesSkipped" as const,
    hash: current.routing,
    pods: ["gw-1"],
    message: "1 route(s) skipped\nns/r rule 0: regex too big",
  };
  const condition = gatewayProgrammedStatus({
    gateway,
    accepted: true,
    service: clusterIpService,
    hashes: current,
    pods: [pod("gw-1", true, current)],
    rejections: { problems: [problem], podCount: 1 },
  }).condition;
  equal(condition.status, "True");
  match(
    condition.message,
    /^1 ready gateway pods serve the current configuration\nghost skipped routes .*\nns\/r rule 0: regex too big$/s,
  );
});
