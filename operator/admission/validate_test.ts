import { deepEqual, equal, match } from "node:assert/strict";
import { routeParents, validateCachePolicy, validateHttpRoute } from "./validate.ts";
import { parseReview, reviewResponse } from "./review.ts";

const GATEWAYS = [
  {
    key: "shop/gw",
    listeners: [{ name: "http", hostname: "*.example.com" }, { name: "admin", hostname: "admin.local" }],
  },
];

function route(spec: Record<string, unknown>) {
  return { metadata: { name: "r", namespace: "shop" }, spec: { parentRefs: [{ name: "gw" }], ...spec } };
}

Deno.test("validateHttpRoute refuses every regex the Rust syntax rejects, naming the field, and accepts Rust spellings", () => {
  const verdict = validateHttpRoute(
    route({
      rules: [
        { matches: [{ path: { type: "PathPrefix", value: "/(?=x" } }] },
        {
          matches: [
            { path: { type: "RegularExpression", value: "/a\\1" } },
            { headers: [{ type: "RegularExpression", name: "h", value: "[z-a]" }, { name: "e", value: "(" }] },
            { queryParams: [{ type: "RegularExpression", name: "q", value: "(?P<id>\\d+)(?i)x\\pL" }] },
          ],
        },
      ],
    }),
    GATEWAYS,
  );
  equal(verdict.allowed, false);
  match(
    verdict.message!,
    /^spec\.rules\[1\]\.matches\[0\]\.path\.value: "\/a\\\\1" is not a valid regular expression: backreferences/,
  );
  match(verdict.message!, /; spec\.rules\[1\]\.matches\[1\]\.headers\[0\]\.value: "\[z-a\]"/);
  equal(verdict.message!.includes("rules[0]"), false, "a PathPrefix is no regex");
  equal(verdict.message!.includes("headers[1]"), false, "an Exact header is no regex");
  equal(verdict.message!.includes("queryParams"), false, "Rust-only spellings pass");
});

Deno.test("validateHttpRoute warns when no listener of a found parent accepts the route's hostnames", () => {
  deepEqual(validateHttpRoute(route({ hostnames: ["a.example.com"] }), GATEWAYS), { allowed: true, warnings: [] });
  deepEqual(validateHttpRoute(route({}), GATEWAYS).warnings, [], "no hostnames: every listener's");
  const other = validateHttpRoute(route({ hostnames: ["a.other.org"] }), GATEWAYS);
  equal(other.allowed, true);
  deepEqual(other.warnings, [
    "hostnames a.other.org match no listener of Gateway shop/gw (http: *.example.com, admin: admin.local): the " +
    "route will not attach there; change the hostnames or the listener",
  ]);
  const section = route({ hostnames: ["a.example.com"], parentRefs: [{ name: "gw", sectionName: "admin" }] });
  match(validateHttpRoute(section, GATEWAYS).warnings[0], /Gateway shop\/gw section admin \(admin: admin\.local\)/);
  deepEqual(validateHttpRoute(route({ hostnames: ["a.other.org"] }), []).warnings, [], "unknown parents: no opinion");
});

Deno.test("routeParents keeps Gateways only, defaulting the namespace", () => {
  deepEqual(
    routeParents({
      metadata: { namespace: "shop" },
      spec: {
        parentRefs: [{ name: "a" }, { name: "b", namespace: "infra", sectionName: "http" }, {
          kind: "Service",
          name: "s",
        }],
      },
    }),
    [{ key: "shop/a" }, { key: "infra/b", sectionName: "http" }],
  );
});

Deno.test("validateCachePolicy refuses a bypass valueRegex the Rust syntax rejects", () => {
  equal(validateCachePolicy({ spec: { bypass: [{ header: { name: "x", valueRegex: "^(a|b)$" } }] } }).allowed, true);
  const bad = validateCachePolicy({
    spec: { bypass: [{ cookie: { name: "c" } }, { header: { name: "x", valueRegex: "(?<!a)b" } }] },
  });
  equal(bad.allowed, false);
  match(
    bad.message!,
    /^spec\.bypass\[1\]\.header\.valueRegex: "\(\?<!a\)b" is not a valid regular expression: lookaround/,
  );
});

Deno.test("parseReview and reviewResponse speak admission.k8s.io/v1", () => {
  const review = parseReview({
    request: { uid: "u", kind: { group: "gateway.networking.k8s.io", kind: "HTTPRoute" }, object: { a: 1 } },
  });
  deepEqual(review, { uid: "u", kind: "gateway.networking.k8s.io/HTTPRoute", object: { a: 1 } });
  equal(parseReview({}), undefined);
  equal(parseReview(null), undefined);
  deepEqual(reviewResponse("u", { allowed: false, message: "m", warnings: [] }), {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    response: { uid: "u", allowed: false, status: { code: 422, reason: "Invalid", message: "m" } },
  });
  deepEqual(reviewResponse("u", { allowed: true, warnings: ["w"] }).response, {
    uid: "u",
    allowed: true,
    warnings: ["w"],
  });
});

Deno.test("sharedMatchWarnings names the route whose identical match always wins, on the same Gateway and hostnames", () => {
  const api = { path: { type: "PathPrefix", value: "/api" } };
  const older = {
    metadata: { name: "old", namespace: "shop", creationTimestamp: "2026-01-01T00:00:00Z" },
    spec: { parentRefs: [{ name: "gw" }], hostnames: ["a.example.com"], rules: [{ matches: [api] }] },
  };
  const mine = {
    metadata: { name: "new", namespace: "shop" },
    spec: {
      parentRefs: [{ name: "gw" }],
      hostnames: ["a.example.com"],
      rules: [{ matches: [{ path: { type: "Exact", value: "/" } }, api] }],
    },
  };
  deepEqual(validateHttpRoute(mine, [], [older, mine]).warnings, [
    "rule 0's match (PathPrefix /api) is also HTTPRoute old's, on the same Gateway and hostnames: old takes " +
    "precedence (older, or as old and first by name), so this rule never receives those requests",
  ]);
  match(
    validateHttpRoute(older, [], [older, {
      ...mine,
      metadata: { ...mine.metadata, creationTimestamp: "2026-02-01T00:00:00Z" },
    }]).warnings[0],
    /this route takes precedence \(older, or as old and first by name\), so that rule of new never/,
  );
  const otherHosts = { ...older, spec: { ...older.spec, hostnames: ["b.example.com"] } };
  deepEqual(validateHttpRoute(mine, [], [otherHosts]).warnings, [], "other hostnames: each wins for its own");
  const otherGateway = { ...older, spec: { ...older.spec, parentRefs: [{ name: "gw2" }] } };
  deepEqual(validateHttpRoute(mine, [], [otherGateway]).warnings, []);
});
