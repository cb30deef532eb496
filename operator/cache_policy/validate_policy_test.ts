import { deepEqual, equal, match } from "node:assert/strict";
import { cachePolicySchema } from "./cache_policy_schema.ts";
import { validatePolicy } from "./validate_policy.ts";

const ROUTE = { group: "gateway.networking.k8s.io", kind: "HTTPRoute", name: "catalog" };

function policy(spec: Record<string, unknown>) {
  return cachePolicySchema.parse({ metadata: { name: "p", namespace: "shop" }, spec });
}

Deno.test("validatePolicy() fills every default of the cache object", () => {
  const result = validatePolicy(policy({ targetRefs: [ROUTE] }));
  equal(result.valid, true);
  if (!result.valid) return;
  deepEqual(result.cache, {
    ttl: { default: 120, grace: 10, keep: 0 },
    allow: { noStore: false, private: false, setCookie: false, authorization: false, otherCookies: false },
    key: { query: { mode: "All", params: [] }, headers: [], cookies: [] },
    bypass: [],
    surrogateKeys: { header: "Surrogate-Key" },
    debugHeaders: false,
  });
  deepEqual(result.targets, [ROUTE]);
});

Deno.test("validatePolicy() converts a full spec: seconds, lowercase sorted headers, sorted params, bypasses", () => {
  const result = validatePolicy(policy({
    targetRefs: [{ ...ROUTE, sectionName: "list" }],
    ttl: { default: "2m", forced: "1h", grace: "30s", keep: "1m" },
    allow: { noStore: true, private: true, setCookie: true, authorization: true, otherCookies: true },
    key: {
      query: { mode: "Exclude", params: ["utm_source", "utm_medium", "utm_source"] },
      headers: ["Accept-Language", "accept-language", "X-Device"],
      cookies: ["lang", "currency"],
    },
    bypass: [{ header: { name: "X-Preview", valueRegex: "^1$" } }, { cookie: { name: "preview" } }],
    surrogateKeys: { header: "xkey" },
    debugHeaders: true,
  }));
  equal(result.valid, true);
  if (!result.valid) return;
  deepEqual(result.cache, {
    ttl: { default: 120, forced: 3600, grace: 30, keep: 60 },
    allow: { noStore: true, private: true, setCookie: true, authorization: true, otherCookies: true },
    key: {
      query: { mode: "Exclude", params: ["utm_medium", "utm_source"] },
      headers: ["accept-language", "x-device"],
      cookies: ["currency", "lang"],
    },
    bypass: [{ type: "Header", name: "X-Preview", valueRegex: "^1$" }, { type: "Cookie", name: "preview" }],
    surrogateKeys: { header: "xkey" },
    debugHeaders: true,
  });
});

Deno.test("validatePolicy() reports every problem of an invalid policy and converts nothing", () => {
  const cases: [string, Record<string, unknown>, RegExp[]][] = [
    ["no targets", { targetRefs: [] }, [/^spec\.targetRefs: /]],
    ["missing targetRefs", {}, [/^spec\.targetRefs: /]],
    ["bad kind", { targetRefs: [{ ...ROUTE, kind: "Service" }] }, [/spec\.targetRefs\[0\]\.kind: must be "Gateway"/]],
    ["bad group", { targetRefs: [{ ...ROUTE, group: "" }] }, [/spec\.targetRefs\[0\]\.group/]],
    ["bad section", { targetRefs: [{ ...ROUTE, sectionName: "Rule_1" }] }, [/sectionName: must be a listener/]],
    ["twice", { targetRefs: [ROUTE, ROUTE] }, [/must not name one target twice/]],
    ["unknown field", { targetRefs: [ROUTE], tll: {} }, [/^spec: unknown field "tll"/]],
    ["fractional", { targetRefs: [ROUTE], ttl: { grace: "1500ms" } }, [/spec\.ttl\.grace: must be whole seconds/]],
    [
      "two bad durations",
      { targetRefs: [ROUTE], ttl: { default: "1d", keep: "x" } },
      [/spec\.ttl\.default: must be a duration/, /spec\.ttl\.keep: must be a duration/],
    ],
    [
      "params with mode All",
      { targetRefs: [ROUTE], key: { query: { params: ["a"] } } },
      [/spec\.key\.query\.params: only allowed with mode Include or Exclude, not All/],
    ],
    [
      "problems of every kind at once",
      { targetRefs: [ROUTE, ROUTE], key: { query: { params: ["a"] }, headers: ["a b"] }, ttl: { keep: "1d" } },
      [/must not name one target twice/, /spec\.ttl\.keep/, /spec\.key\.query\.params/, /spec\.key\.headers\[0\]/],
    ],
    ["bad mode", { targetRefs: [ROUTE], key: { query: { mode: "Some" } } }, [/spec\.key\.query\.mode/]],
    ["bad header", { targetRefs: [ROUTE], key: { headers: ["a b"] } }, [/spec\.key\.headers\[0\]: must be a header/]],
    ["17 headers", { targetRefs: [ROUTE], key: { headers: Array(17).fill("a") } }, [/spec\.key\.headers: /]],
    ["empty bypass", { targetRefs: [ROUTE], bypass: [{}] }, [/spec\.bypass\[0\]: must name exactly one/]],
    [
      "both bypass kinds",
      { targetRefs: [ROUTE], bypass: [{ header: { name: "a" }, cookie: { name: "b" } }] },
      [/spec\.bypass\[0\]: must name exactly one/],
    ],
    [
      "lookaround regex",
      { targetRefs: [ROUTE], bypass: [{ header: { name: "a", valueRegex: "(?=x)" } }] },
      [/spec\.bypass\[0\]\.header\.valueRegex: "\(\?=x\)" is invalid/],
    ],
    [
      "long regex",
      { targetRefs: [ROUTE], bypass: [{ header: { name: "a", valueRegex: "a".repeat(1025) } }] },
      [/spec\.bypass\[0\]\.header\.valueRegex/],
    ],
    ["bad debug", { targetRefs: [ROUTE], debugHeaders: "yes" }, [/spec\.debugHeaders/]],
  ];
  for (const [name, spec, expected] of cases) {
    const result = validatePolicy(policy(spec));
    equal(result.valid, false, name);
    if (result.valid) continue;
    equal(result.problems.length, expected.length, `${name}: ${result.problems.join(" | ")}`);
    expected.forEach((re, i) => match(result.problems[i], re, name));
  }
});

Deno.test("validatePolicy() keeps the well-formed targets of an invalid policy for its status", () => {
  const result = validatePolicy(policy({ targetRefs: [ROUTE, { kind: "Service", name: "x" }], ttl: { grace: "x" } }));
  equal(result.valid, false);
  deepEqual(result.targets, [ROUTE]);
});

Deno.test("validatePolicy() takes Ingress targets of group networking.k8s.io, without sectionName", () => {
  const withTargets = (targetRefs: unknown[]) =>
    validatePolicy(cachePolicySchema.parse({ metadata: { name: "p", namespace: "shop" }, spec: { targetRefs } }));
  const ingress = { group: "networking.k8s.io", kind: "Ingress", name: "web" };
  deepEqual(withTargets([ingress]).targets, [ingress]);
  const wrong = withTargets([{ ...ingress, group: "gateway.networking.k8s.io" }, { ...ingress, sectionName: "a" }]);
  deepEqual(wrong.valid ? [] : wrong.problems, [
    'spec.targetRefs[0].group: must be "networking.k8s.io" for Ingress',
    "spec.targetRefs[1].sectionName: must not be set for an Ingress",
  ]);
  deepEqual(wrong.targets, [ingress], "the well-formed target, once, for status");
});
