import { deepEqual, equal, notEqual } from "node:assert/strict";
import { httpRouteSchema } from "./api_types.ts";
import { translateRules } from "./rules.ts";
import { parseSnapshot } from "./snapshot.ts";
import { indexSnapshot } from "./snapshot_index.ts";
import { TranslationMemo } from "./translation_memo.ts";

const CONTROLLER = "lacquer.dev/gateway-controller";
const SERVICES = [
  { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "app" }, spec: { ports: [{ port: 80 }] } },
  {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "wss", namespace: "app" },
    spec: { ports: [{ port: 80, appProtocol: "kubernetes.io/wss" }] },
  },
  {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "ws", namespace: "app" },
    spec: { ports: [{ port: 80, appProtocol: "kubernetes.io/ws" }] },
  },
  {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "h2c", namespace: "app" },
    spec: { ports: [{ port: 80, appProtocol: "kubernetes.io/h2c" }] },
  },
  { apiVersion: "v1", kind: "Service", metadata: { name: "db", namespace: "data" }, spec: { ports: [{ port: 80 }] } },
];
const GRANT = {
  apiVersion: "gateway.networking.k8s.io/v1beta1",
  kind: "ReferenceGrant",
  metadata: { name: "g", namespace: "data" },
  spec: {
    from: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: "app" }],
    to: [{ group: "", kind: "Service" }],
  },
};

function route(rules: unknown[]) {
  return httpRouteSchema.parse({
    metadata: { name: "r", namespace: "app", creationTimestamp: "2026-01-01T00:00:00Z" },
    spec: { rules },
  });
}

const web = { name: "web", port: 80 };

Deno.test("translateRules() keeps what ghost can serve and reports the rest", async (t) => {
  const index = indexSnapshot(parseSnapshot(SERVICES), CONTROLLER);
  const cases: {
    name: string;
    rules: unknown[];
    want: { entries: number; ruleProblems: string[]; allInvalid: boolean; refs: string[]; unresolved: number };
  }[] = [
    {
      name: "a plain rule",
      rules: [{ backendRefs: [web] }],
      want: { entries: 1, ruleProblems: [], allInvalid: false, refs: [], unresolved: 0 },
    },
    {
      name: "a regex ghost cannot run drops the rule",
      rules: [{ matches: [{ path: { type: "RegularExpression", value: "/(?=x)" } }], backendRefs: [web] }, {
        backendRefs: [web],
      }],
      want: {
        entries: 1,
        ruleProblems: ['rule 0: regular expression of path "/(?=x)" is invalid'],
        allInvalid: false,
        refs: [],
        unresolved: 0,
      },
    },
    {
      name: "a filter we do not implement answers 500 instead of being ignored",
      rules: [{ filters: [{ type: "ExtensionRef", extensionRef: { name: "x" } }], backendRefs: [web] }],
      want: {
        entries: 1,
        ruleProblems: ['rule 0: filter type "ExtensionRef" is not supported (requests answer 500)'],
        allInvalid: true,
        refs: [],
        unresolved: 0,
      },
    },
    {
      name: "a mirror whose Service is missing reports ResolvedRefs and the rule keeps serving",
      rules: [{
        filters: [{ type: "RequestMirror", requestMirror: { backendRef: { name: "gone", port: 80 } } }],
        backendRefs: [web],
      }],
      want: { entries: 1, ruleProblems: [], allInvalid: false, refs: ["BackendNotFound"], unresolved: 0 },
    },
    {
      name: "a mirror to an H2C port reports UnsupportedProtocol and the rule keeps serving",
      rules: [{
        filters: [{ type: "RequestMirror", requestMirror: { backendRef: { name: "h2c", port: 80 } } }],
        backendRefs: [web],
      }],
      want: { entries: 1, ruleProblems: [], allInvalid: false, refs: ["UnsupportedProtocol"], unresolved: 0 },
    },
    {
      name: "a mirror share over 1 drops the rule",
      rules: [{
        filters: [{
          type: "RequestMirror",
          requestMirror: { backendRef: web, fraction: { numerator: 3, denominator: 2 } },
        }],
        backendRefs: [web],
      }],
      want: {
        entries: 0,
        ruleProblems: ["rule 0: filter RequestMirror share 3/2 is not a fraction of at most 1"],
        allInvalid: true,
        refs: [],
        unresolved: 0,
      },
    },
    {
      name: "incompatible filters",
      rules: [{
        filters: [{ type: "RequestRedirect", requestRedirect: {} }, { type: "URLRewrite", urlRewrite: {} }],
        backendRefs: [web],
      }],
      want: {
        entries: 0,
        ruleProblems: ["rule 0: filters RequestRedirect and URLRewrite cannot be combined"],
        allInvalid: true,
        refs: [],
        unresolved: 0,
      },
    },
    {
      name: "unusable backends stay as unresolved shares",
      rules: [{
        backendRefs: [
          { name: "gone", port: 80 },
          { name: "web", port: 81 },
          { name: "web" },
          { name: "wss", port: 80 },
          { group: "example.com", kind: "Bucket", name: "b" },
          { name: "db", namespace: "data", port: 80 },
        ],
      }],
      want: {
        entries: 1,
        ruleProblems: [],
        allInvalid: false,
        refs: [
          "BackendNotFound",
          "BackendNotFound",
          "BackendNotFound",
          "UnsupportedProtocol",
          "InvalidKind",
          "RefNotPermitted",
        ],
        unresolved: 6,
      },
    },
    {
      name: "a WebSocket port (appProtocol kubernetes.io/ws) is a usable backend",
      rules: [{ backendRefs: [{ name: "ws", port: 80 }] }],
      want: { entries: 1, ruleProblems: [], allInvalid: false, refs: [], unresolved: 0 },
    },
    {
      name: "a backend filter we do not implement",
      rules: [{ backendRefs: [{ ...web, filters: [{ type: "URLRewrite", urlRewrite: {} }] }] }],
      want: {
        entries: 1,
        ruleProblems: [
          'rule 0: backendRef filter type "URLRewrite" is not supported (its share of requests answers 500)',
        ],
        allInvalid: true,
        refs: [],
        unresolved: 1,
      },
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const out = translateRules(route(c.rules), { index, memo: new TranslationMemo() });
      deepEqual({
        entries: out.entries.length,
        // Expected problems are prefixes: the regex checker's own explanation follows.
        ruleProblems: out.ruleProblems.map((p, i) =>
          p.startsWith(c.want.ruleProblems[i] ?? "\0") ? c.want.ruleProblems[i] : p
        ),
        allInvalid: out.allInvalid,
        refs: out.refProblems.map((p) => p.reason),
        unresolved: out.entries.flatMap((e) => e.backends).filter((b) => b.unresolved !== undefined).length,
      }, c.want);
    });
  }
});

Deno.test("translateRules() reuses the memo's result until a Service or grant it read changes", () => {
  const memo = new TranslationMemo();
  const r = route([{ backendRefs: [web, { name: "db", namespace: "data", port: 80 }] }]);
  const before = indexSnapshot(parseSnapshot(SERVICES), CONTROLLER);
  const first = translateRules(r, { index: before, memo });
  equal(first.refProblems[0]?.reason, "RefNotPermitted");
  // New Service objects (as after a relist): recomputed.
  notEqual(translateRules(r, { index: indexSnapshot(parseSnapshot(SERVICES), CONTROLLER), memo }), first);
  // The same Service and grant objects in a new index: reused.
  const snapshot = parseSnapshot(SERVICES);
  const again = translateRules(r, { index: indexSnapshot(snapshot, CONTROLLER), memo });
  equal(translateRules(r, { index: indexSnapshot({ ...snapshot }, CONTROLLER), memo }), again);
  // A Service the route does not name changes: reused.
  const other = parseSnapshot([{ ...SERVICES[0], metadata: { name: "other", namespace: "app" } }]).services;
  equal(
    translateRules(r, {
      index: indexSnapshot({ ...snapshot, services: [...snapshot.services, ...other] }, CONTROLLER),
      memo,
    }),
    again,
  );
  // A grant appears in the backend's namespace: recomputed, now resolved.
  const granted = translateRules(r, {
    index: indexSnapshot({ ...snapshot, referenceGrants: parseSnapshot([GRANT]).referenceGrants }, CONTROLLER),
    memo,
  });
  notEqual(granted, again);
  deepEqual(granted.refProblems, []);
});

Deno.test("translateRules() says a backend is in a namespace the operator does not watch", () => {
  const snapshot = { ...parseSnapshot([...SERVICES, GRANT]), watchedNamespaces: ["app"] };
  const r = route([{ backendRefs: [{ name: "db", namespace: "data", port: 80 }, { name: "web", port: 80 }] }]);
  const out = translateRules(r, { index: indexSnapshot(snapshot, CONTROLLER), memo: new TranslationMemo() });
  deepEqual(out.refProblems.map((p) => [p.reason, p.message]), [[
    "BackendNotFound",
    'Service "data/db" is in namespace data, which this operator does not watch (--watch-namespaces)',
  ]]);
});

Deno.test("translateRules() turns RequestMirror filters into mirrors with their share", () => {
  const index = indexSnapshot(parseSnapshot([...SERVICES, GRANT]), CONTROLLER);
  const out = translateRules(
    route([{
      filters: [
        { type: "RequestMirror", requestMirror: { backendRef: web } },
        {
          type: "RequestMirror",
          requestMirror: { backendRef: { name: "db", namespace: "data", port: 80 }, percent: 20 },
        },
        { type: "RequestMirror", requestMirror: { backendRef: web, fraction: { numerator: 25, denominator: 50 } } },
      ],
      backendRefs: [web],
    }]),
    { index, memo: new TranslationMemo() },
  );
  deepEqual(out.entries[0].mirrors, [
    { backend: { weight: 1, service: { namespace: "app", name: "web", port: 80 }, filters: [] } },
    {
      backend: { weight: 1, service: { namespace: "data", name: "db", port: 80 }, filters: [] },
      fraction: { numerator: 20, denominator: 100 },
    },
    {
      backend: { weight: 1, service: { namespace: "app", name: "web", port: 80 }, filters: [] },
      fraction: { numerator: 25, denominator: 50 },
    },
  ]);
  deepEqual(out.entries[0].filters, []);
  deepEqual(out.refProblems, []);
});
