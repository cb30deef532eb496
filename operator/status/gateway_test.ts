import { gatewayAccepted } from "./conditions.ts";
import { deepEqual, equal, match } from "node:assert/strict";
import { gatewaySchema, serviceSchema } from "../api_types.ts";
import type { GatewayProblem, OwnParameters } from "../gateway_config.ts";
import type { ListenerResult } from "../listeners.ts";
import { gatewayAcceptedCondition, gatewayStatus } from "./gateway.ts";

const NOW = "2026-01-01T00:00:00Z";
const OLD = "2025-01-01T00:00:00Z";

function listener(name: string, usable: boolean): ListenerResult {
  return {
    listener: {
      name,
      port: 80,
      protocol: "HTTP",
      allowedRoutes: { namespaces: { from: "Same" } },
    } as ListenerResult["listener"],
    socket: "port-80",
    attachable: usable,
    usable,
    supportedKinds: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute" }],
    ...(usable ? {} : { problem: "it conflicts with another listener" }),
  };
}

Deno.test("gatewayAcceptedCondition() decides Accepted from parameters and listeners", async (t) => {
  const bad: GatewayProblem = { reason: "InvalidParameters", message: 'ConfigMap "ns/vcl" not found' };
  const address: GatewayProblem = { reason: "UnsupportedAddress", message: "spec.addresses is not supported" };
  const cases: {
    name: string;
    problem?: GatewayProblem;
    listeners: ListenerResult[];
    want: [string, string, string];
  }[] = [
    {
      name: "all listeners valid",
      listeners: [listener("a", true)],
      want: ["True", "Accepted", "Gateway is accepted"],
    },
    {
      name: "some listeners invalid: accepted, saying which",
      listeners: [listener("a", true), listener("b", false), listener("c", false)],
      want: ["True", "ListenersNotValid", 'Listeners "b", "c" are not valid'],
    },
    {
      name: "no listener valid",
      listeners: [listener("a", false)],
      want: ["False", "ListenersNotValid", "No listener of the Gateway is valid"],
    },
    {
      name: "no listener at all",
      listeners: [],
      want: ["False", "ListenersNotValid", "No listener of the Gateway is valid"],
    },
    {
      name: "invalid parameters win over listeners",
      problem: bad,
      listeners: [listener("a", false)],
      want: ["False", "InvalidParameters", bad.message],
    },
    {
      name: "static addresses",
      problem: address,
      listeners: [listener("a", true)],
      want: ["False", "UnsupportedAddress", address.message],
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const got = gatewayAcceptedCondition({ generation: 5, problem: c.problem, listeners: c.listeners });
      deepEqual([got.status, got.reason, got.message], c.want);
      equal(got.type, "Accepted");
      equal(got.observedGeneration, 5);
    });
  }
});

Deno.test("gatewayStatus() assembles conditions, addresses and listener entries", () => {
  const gateway = gatewaySchema.parse({
    metadata: { name: "gw", namespace: "ns", generation: 2 },
    spec: { gatewayClassName: "lacquer", listeners: [{ name: "a", port: 80, protocol: "HTTP" }] },
    status: {
      conditions: [
        { ...gatewayAccepted(1), lastTransitionTime: OLD },
      ],
    },
  });
  const service = serviceSchema.parse({
    metadata: { name: "gw", namespace: "ns", labels: { "app.kubernetes.io/managed-by": "lacquer" } },
    spec: { type: "ClusterIP", clusterIP: "10.0.0.7", ports: [{ port: 80 }] },
  });
  const status = gatewayStatus({
    gateway,
    listeners: [listener("a", true)],
    attachedRoutes: new Map([["a", 3]]),
    service,
    pods: [],
    hashes: { routing: "sha256:r", vcl: "sha256:v" },
  }, NOW);
  deepEqual(status.addresses, [{ type: "IPAddress", value: "10.0.0.7" }]);
  deepEqual(status.conditions.map((c) => [c.type, c.status, c.reason, c.lastTransitionTime]), [
    ["Accepted", "True", "Accepted", OLD],
    ["Programmed", "False", "Pending", NOW],
  ]);
  deepEqual(status.listeners.map((l) => [l.name, l.attachedRoutes, l.conditions.at(-1)?.reason]), [[
    "a",
    3,
    "Pending",
  ]]);
});

Deno.test("gatewayStatus() does not program a Gateway that is not accepted", () => {
  const gateway = gatewaySchema.parse({
    metadata: { name: "gw", namespace: "ns" },
    spec: { gatewayClassName: "lacquer", listeners: [] },
  });
  const status = gatewayStatus({
    gateway,
    problem: { reason: "InvalidParameters", message: "bad" },
    listeners: [],
    attachedRoutes: new Map(),
    pods: [],
    hashes: { routing: "sha256:r", vcl: "sha256:v" },
  }, NOW);
  deepEqual(status.conditions.map((c) => [c.type, c.status, c.reason]), [
    ["Accepted", "False", "InvalidParameters"],
    ["Programmed", "False", "Invalid"],
  ]);
  deepEqual(status.addresses, []);
});

Deno.test("gatewayStatus() tells which fields of the Gateway's own GatewayParameters its class refused, and why", () => {
  const gateway = gatewaySchema.parse({
    metadata: { name: "gw", namespace: "ns", generation: 4 },
    spec: { gatewayClassName: "lacquer", listeners: [] },
  });
  const facts = (ownParameters: OwnParameters) =>
    gatewayStatus({
      gateway,
      listeners: [listener("a", true)],
      attachedRoutes: new Map(),
      pods: [],
      hashes: { routing: "sha256:r", vcl: "sha256:v" },
      ownParameters,
    }, NOW).conditions.map((c) => [c.type, c.status, c.reason, c.message, c.observedGeneration]);
  const own = { name: "ns/own", className: "lacquer", classParameters: "sys/defaults", allowed: ["vcl"] };
  deepEqual(facts({ ...own, refused: [] })[2], [
    "lacquer.dev/ParametersAllowed",
    "True",
    "Allowed",
    'GatewayClass "lacquer" lets GatewayParameters "ns/own" set every field they set',
    4,
  ]);
  const refused = facts({ ...own, refused: [{ field: "image", why: "it chooses the program the gateway pods run" }] });
  deepEqual(refused[0], ["Accepted", "True", "Accepted", "Gateway is accepted", 4], "the rest still applies");
  deepEqual(refused[2], [
    "lacquer.dev/ParametersAllowed",
    "False",
    "NotAllowedByClass",
    'GatewayClass "lacquer" does not let its Gateways set image (it chooses the program the gateway pods run): ' +
    'GatewayParameters "ns/own" set them, so the class\'s values apply (their other fields apply). Its Gateways may ' +
    'set only what its GatewayParameters "sys/defaults" list in allowedGatewayOverrides (now: vcl)',
    4,
  ]);
  match(
    String(facts({ name: "ns/own", className: "lacquer", allowed: [], refused: [{ field: "env", why: "w" }] })[2][3]),
    /The class names no GatewayParameters, whose allowedGatewayOverrides would list what its Gateways may set$/,
  );
});
