import { deepEqual, equal } from "node:assert/strict";
import { gatewaySchema, httpRouteSchema } from "../api_types.ts";
import { cachePolicySchema, resolvePolicies } from "../cache_policy/mod.ts";
import { cachePolicyAncestors, type PolicyWorld } from "./cache_policy.ts";

const GROUP = "gateway.networking.k8s.io";
const NOW = "2026-01-01T00:00:00Z";

const gateways = [
  gatewaySchema.parse({
    metadata: { name: "gw", namespace: "shop" },
    spec: { gatewayClassName: "lacquer", listeners: [{ name: "http", port: 80, protocol: "HTTP" }] },
  }),
  gatewaySchema.parse({
    metadata: { name: "edge", namespace: "infra" },
    spec: { gatewayClassName: "lacquer", listeners: [{ name: "http", port: 80, protocol: "HTTP" }] },
  }),
  gatewaySchema.parse({
    metadata: { name: "foreign", namespace: "shop" },
    spec: { gatewayClassName: "other", listeners: [{ name: "http", port: 80, protocol: "HTTP" }] },
  }),
];
const routes = [
  httpRouteSchema.parse({
    metadata: { name: "r", namespace: "shop" },
    spec: {
      parentRefs: [{ name: "gw" }, { name: "edge", namespace: "infra" }, { name: "gw", sectionName: "http" }],
      rules: [{ name: "list" }, {}],
    },
  }),
  httpRouteSchema.parse({
    metadata: { name: "lonely", namespace: "shop" },
    spec: { parentRefs: [{ name: "foreign" }], rules: [{}] },
  }),
];
const world: PolicyWorld = {
  gateway: (key) => gateways.find((g) => `${g.metadata.namespace}/${g.metadata.name}` === key),
  route: (key) => routes.find((r) => `${r.metadata.namespace}/${r.metadata.name}` === key),
  ours: (g) => g.spec.gatewayClassName === "lacquer",
  ingress: (key) =>
    ({ "shop/web": { gateway: "shop/gw" }, "shop/bare": {}, "shop/abroad": { gateway: "shop/foreign" } } as Record<
      string,
      { gateway?: string }
    >)[key],
};

function policy(name: string, created: string, spec: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return cachePolicySchema.parse({
    metadata: { name, namespace: "shop", creationTimestamp: created, generation: 3 },
    spec,
    ...extra,
  });
}

function target(kind: string, name: string, sectionName?: string) {
  const group = kind === "Ingress" ? "networking.k8s.io" : GROUP;
  return { group, kind, name, ...(sectionName ? { sectionName } : {}) };
}

/** Each ancestor as "kind ns/name[#section] status reason: message". */
function summary(name: string, policies: ReturnType<typeof policy>[]): string[] {
  const outcome = resolvePolicies(policies).policies.get(`shop/${name}`)!;
  return cachePolicyAncestors(outcome, world, { now: NOW }).map((a) => {
    const r = a.ancestorRef;
    const c = a.conditions[0];
    equal(a.controllerName, "lacquer.dev/gateway-controller");
    equal(c.type, "Accepted");
    equal(c.observedGeneration, 3);
    return `${r.kind} ${r.namespace}/${r.name}${
      r.sectionName ? `#${r.sectionName}` : ""
    } ${c.status} ${c.reason}: ${c.message}`;
  });
}

const T1 = "2026-01-01T00:00:01Z";
const T2 = "2026-01-01T00:00:02Z";

Deno.test("cachePolicyAncestors() reports each target level on its Gateways", () => {
  const cases: [string, Record<string, unknown>[], string[]][] = [
    ["Gateway", [target("Gateway", "gw")], ["Gateway shop/gw True Accepted: CachePolicy is accepted"]],
    ["listener", [target("Gateway", "gw", "http")], ["Gateway shop/gw#http True Accepted: CachePolicy is accepted"]],
    [
      "route: one entry per Gateway of ours, across namespaces",
      [target("HTTPRoute", "r")],
      [
        "Gateway infra/edge True Accepted: CachePolicy is accepted",
        "Gateway shop/gw True Accepted: CachePolicy is accepted",
      ],
    ],
    [
      "rule",
      [target("HTTPRoute", "r", "list")],
      [
        "Gateway infra/edge True Accepted: CachePolicy is accepted",
        "Gateway shop/gw True Accepted: CachePolicy is accepted",
      ],
    ],
    [
      "Ingress: the Gateway its class names",
      [target("Ingress", "web")],
      ["Gateway shop/gw True Accepted: CachePolicy is accepted"],
    ],
  ];
  for (const [name, targetRefs, expected] of cases) {
    deepEqual(summary("p", [policy("p", T1, { targetRefs })]), expected, name);
  }
});

Deno.test("cachePolicyAncestors() says TargetNotFound for each kind of missing target", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ["Gateway", target("Gateway", "nope"), 'Gateway shop/nope False TargetNotFound: Gateway "nope" not found'],
    [
      "listener",
      target("Gateway", "gw", "https"),
      'Gateway shop/gw#https False TargetNotFound: Gateway "gw" has no listener "https"',
    ],
    [
      "foreign Gateway",
      target("Gateway", "foreign"),
      'Gateway shop/foreign False TargetNotFound: Gateway "foreign" is not of a GatewayClass of lacquer.dev/gateway-controller',
    ],
    ["route", target("HTTPRoute", "gone"), 'HTTPRoute shop/gone False TargetNotFound: HTTPRoute "gone" not found'],
    [
      "Ingress",
      target("Ingress", "gone"),
      'Ingress shop/gone False TargetNotFound: Ingress "gone" of a Lacquer IngressClass not found',
    ],
    [
      "Ingress whose class names no Gateway",
      target("Ingress", "bare"),
      'Ingress shop/bare False TargetNotFound: the IngressClass of Ingress "bare" names no Gateway',
    ],
    [
      "Ingress on a foreign Gateway",
      target("Ingress", "abroad"),
      'Ingress shop/abroad False TargetNotFound: Gateway "shop/foreign" of Ingress "abroad" not found or not of ' +
      "lacquer.dev/gateway-controller",
    ],
    [
      "route without our Gateway",
      target("HTTPRoute", "lonely"),
      'HTTPRoute shop/lonely False TargetNotFound: HTTPRoute "lonely" has no parent Gateway of lacquer.dev/gateway-controller',
    ],
  ];
  for (const [name, ref, expected] of cases) {
    deepEqual(summary("p", [policy("p", T1, { targetRefs: [ref] })]), [expected], name);
  }
  deepEqual(summary("p", [policy("p", T1, { targetRefs: [target("HTTPRoute", "r", "detail")] })]), [
    'Gateway infra/edge False TargetNotFound: HTTPRoute "r" has no rule named "detail"',
    'Gateway shop/gw False TargetNotFound: HTTPRoute "r" has no rule named "detail"',
  ]);
});

Deno.test("cachePolicyAncestors() marks the younger of two policies on one target Conflicted", () => {
  const policies = [
    policy("young", T2, { targetRefs: [target("Gateway", "gw")] }),
    policy("old", T1, { targetRefs: [target("Gateway", "gw")] }),
  ];
  deepEqual(summary("old", policies), ["Gateway shop/gw True Accepted: CachePolicy is accepted"]);
  deepEqual(summary("young", policies), [
    'Gateway shop/gw False Conflicted: Gateway "gw" is held by the older CachePolicy "shop/old"',
  ]);
});

Deno.test("cachePolicyAncestors() stays Accepted where one target applies and names the others", () => {
  const policies = [
    policy("old", T1, { targetRefs: [target("HTTPRoute", "r", "list")] }),
    policy("new", T2, { targetRefs: [target("HTTPRoute", "r", "list"), target("HTTPRoute", "r")] }),
  ];
  deepEqual(summary("new", policies), [
    'Gateway infra/edge True Accepted: CachePolicy is accepted; it does not apply where rule "list" of HTTPRoute "r" is held by the older CachePolicy "shop/old"',
    'Gateway shop/gw True Accepted: CachePolicy is accepted; it does not apply where rule "list" of HTTPRoute "r" is held by the older CachePolicy "shop/old"',
  ]);
});

Deno.test("cachePolicyAncestors() reports an invalid policy Invalid on every ancestor", () => {
  deepEqual(
    summary("bad", [
      policy("bad", T1, { targetRefs: [target("Gateway", "gw"), target("HTTPRoute", "gone")], ttl: { grace: "1d" } }),
    ]),
    [
      'Gateway shop/gw False Invalid: CachePolicy is invalid: spec.ttl.grace: must be a duration such as 1h30m or 10s, not "1d"',
      'HTTPRoute shop/gone False Invalid: CachePolicy is invalid: spec.ttl.grace: must be a duration such as 1h30m or 10s, not "1d"',
    ],
  );
  deepEqual(summary("bad", [policy("bad", T1, { targetRefs: [{ kind: "Service", name: "x" }] })]), [
    'CachePolicy shop/bad False Invalid: CachePolicy is invalid: spec.targetRefs[0].group: must be "gateway.networking.k8s.io" or "networking.k8s.io"; spec.targetRefs[0].kind: must be "Gateway", "HTTPRoute" or "Ingress"',
  ]);
});

Deno.test("cachePolicyAncestors() keeps lastTransitionTime unless the status flips, and other controllers' entries out", () => {
  const entry = (name: string) => ({
    ancestorRef: { group: GROUP, kind: "Gateway", namespace: "shop", name },
    controllerName: "lacquer.dev/gateway-controller",
    conditions: [{ type: "Accepted", status: "True", reason: "Accepted", lastTransitionTime: "2025-01-01T00:00:00Z" }],
  });
  const status = { ancestors: [entry("gw"), entry("gw#x")] };
  const accepted = policy("p", T1, { targetRefs: [target("Gateway", "gw")] }, { status });
  const out = cachePolicyAncestors(resolvePolicies([accepted]).policies.get("shop/p")!, world, { now: NOW });
  equal(out.length, 1);
  equal(out[0].conditions[0].lastTransitionTime, "2025-01-01T00:00:00Z");
  const invalid = policy("p", T1, { targetRefs: [target("Gateway", "gw")], ttl: { keep: "x" } }, { status });
  const flipped = cachePolicyAncestors(resolvePolicies([invalid]).policies.get("shop/p")!, world, { now: NOW });
  equal(flipped[0].conditions[0].lastTransitionTime, NOW);
});
