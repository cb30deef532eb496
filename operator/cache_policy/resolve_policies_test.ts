import { deepEqual, equal } from "node:assert/strict";
import { cachePolicySchema } from "./cache_policy_schema.ts";
import { resolvePolicies } from "./resolve_policies.ts";

const GROUP = "gateway.networking.k8s.io";

function policy(name: string, created: string, targetRefs: Record<string, unknown>[], namespace = "shop") {
  return cachePolicySchema.parse({
    metadata: { name, namespace, creationTimestamp: created },
    spec: { targetRefs: targetRefs.map((t) => ({ group: GROUP, ...t })) },
  });
}

const GW = { namespace: "shop", name: "gw" };
const T1 = "2026-01-01T00:00:01Z";
const T2 = "2026-01-01T00:00:02Z";
const T3 = "2026-01-01T00:00:03Z";
const T4 = "2026-01-01T00:00:04Z";

Deno.test("resolvePolicies() picks the most specific level: rule > route > listener > Gateway", () => {
  const policies = [
    policy("gateway", T1, [{ kind: "Gateway", name: "gw" }]),
    policy("listener", T2, [{ kind: "Gateway", name: "gw", sectionName: "http" }]),
    policy("route", T3, [{ kind: "HTTPRoute", name: "r" }]),
    policy("rule", T4, [{ kind: "HTTPRoute", name: "r", sectionName: "list" }]),
  ];
  const cases: [string, string, { namespace: string; name: string; ruleName?: string }, string | undefined][] = [
    ["named rule", "http", { namespace: "shop", name: "r", ruleName: "list" }, "rule"],
    ["other rule of the route", "http", { namespace: "shop", name: "r", ruleName: "detail" }, "route"],
    ["unnamed rule of the route", "http", { namespace: "shop", name: "r" }, "route"],
    ["other route on the listener", "http", { namespace: "shop", name: "other" }, "listener"],
    ["other route on another listener", "https", { namespace: "shop", name: "other" }, "gateway"],
    ["route of another namespace", "https", { namespace: "web", name: "r", ruleName: "list" }, "gateway"],
  ];
  // The order of the input never matters.
  for (const input of [policies, [...policies].reverse()]) {
    const resolution = resolvePolicies(input);
    for (const [name, listener, rule, expected] of cases) {
      equal(resolution.cacheFor(GW, listener, rule)?.split("/")[1], expected, name);
    }
    equal(
      resolution.cacheFor({ namespace: "shop", name: "other-gw" }, "http", { namespace: "web", name: "x" }),
      undefined,
    );
  }
});

Deno.test("resolvePolicies() gives a target to the older policy, then to the lower namespace/name", () => {
  const cases: [string, ReturnType<typeof policy>[], string, Record<string, string | undefined>][] = [
    [
      "older wins",
      [policy("young", T2, [{ kind: "HTTPRoute", name: "r" }]), policy("old", T1, [{ kind: "HTTPRoute", name: "r" }])],
      "old",
      { "shop/old": undefined, "shop/young": "shop/old" },
    ],
    [
      "same age: lower name wins",
      [policy("b", T1, [{ kind: "HTTPRoute", name: "r" }]), policy("a", T1, [{ kind: "HTTPRoute", name: "r" }])],
      "a",
      { "shop/a": undefined, "shop/b": "shop/a" },
    ],
    [
      "different sections do not conflict",
      [
        policy("a", T1, [{ kind: "HTTPRoute", name: "r", sectionName: "x" }]),
        policy("b", T2, [{ kind: "HTTPRoute", name: "r", sectionName: "list" }]),
      ],
      "b",
      { "shop/a": undefined, "shop/b": undefined },
    ],
    [
      "an invalid older policy holds nothing",
      [
        cachePolicySchema.parse({
          metadata: { name: "bad", namespace: "shop", creationTimestamp: T1 },
          spec: { targetRefs: [{ group: GROUP, kind: "HTTPRoute", name: "r" }], ttl: { grace: "soon" } },
        }),
        policy("good", T2, [{ kind: "HTTPRoute", name: "r" }]),
      ],
      "good",
      { "shop/bad": undefined, "shop/good": undefined },
    ],
  ];
  for (const [name, policies, winner, conflicts] of cases) {
    const resolution = resolvePolicies(policies);
    equal(
      resolution.cacheFor(GW, "http", { namespace: "shop", name: "r", ruleName: "list" })?.split("/")[1],
      winner,
      name,
    );
    deepEqual(
      Object.fromEntries([...resolution.policies].map(([k, o]) => [k, o.targets[0].conflictedBy])),
      conflicts,
      name,
    );
  }
});

Deno.test("resolvePolicies() lets a policy win one target and lose another", () => {
  const resolution = resolvePolicies([
    policy("old", T1, [{ kind: "HTTPRoute", name: "a" }]),
    policy("new", T2, [{ kind: "HTTPRoute", name: "a" }, { kind: "HTTPRoute", name: "b" }]),
  ]);
  deepEqual(resolution.policies.get("shop/new")!.targets.map((t) => t.conflictedBy), ["shop/old", undefined]);
  equal(resolution.cacheFor(GW, "http", { namespace: "shop", name: "b" })?.split("/")[1], "new");
  equal(resolution.cacheFor(GW, "http", { namespace: "shop", name: "a" })?.split("/")[1], "old");
  equal(resolution.settingsOf("shop/new"), (resolution.policies.get("shop/new")!.validated as { cache: object }).cache);
});

Deno.test("resolvePolicies() scopes targets to the policy's namespace", () => {
  const resolution = resolvePolicies([policy("p", T1, [{ kind: "Gateway", name: "gw" }], "web")]);
  equal(resolution.cacheFor(GW, "http", { namespace: "shop", name: "r" }), undefined);
  equal(
    resolution.cacheFor({ namespace: "web", name: "gw" }, "http", { namespace: "shop", name: "r" })?.split("/")[1],
    "p",
  );
});
