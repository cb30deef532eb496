import { routeAccepted } from "./conditions.ts";
import { deepEqual } from "node:assert/strict";
import { httpRouteSchema } from "../api_types.ts";
import type { AttachedRoute } from "../attach_routes.ts";
import type { RulesResult } from "../rules.ts";
import { mergeRouteParents, routeParentConditions, type RouteParentFacts, routeParentStatus } from "./route_parent.ts";

const NOW = "2026-01-01T00:00:00Z";
const OLD = "2025-01-01T00:00:00Z";
const OURS = "lacquer.dev/gateway-controller";

function rules(problems: Partial<RulesResult> = {}): RulesResult {
  return { entries: [], ruleProblems: [], allInvalid: false, incompatibleFilters: false, refProblems: [], ...problems };
}

Deno.test("routeParentConditions() derives Accepted, ResolvedRefs and PartiallyInvalid", async (t) => {
  const cases: { name: string; facts: RouteParentFacts; want: string[][] }[] = [
    {
      name: "attached, every rule served",
      facts: { rules: rules() },
      want: [["Accepted", "True", "Accepted"], ["ResolvedRefs", "True", "ResolvedRefs"]],
    },
    {
      name: "rejected by the listeners",
      facts: { rejection: { reason: "NotAllowedByListeners", message: "no" }, rules: rules() },
      want: [["Accepted", "False", "NotAllowedByListeners", "no"], ["ResolvedRefs", "True", "ResolvedRefs"]],
    },
    {
      name: "some rules dropped",
      facts: { rules: rules({ ruleProblems: ["rule 1: bad regex"] }) },
      want: [
        ["Accepted", "True", "Accepted"],
        ["ResolvedRefs", "True", "ResolvedRefs"],
        ["PartiallyInvalid", "True", "UnsupportedValue", "Dropped Rule(s): rule 1: bad regex"],
      ],
    },
    {
      name: "every rule dropped",
      facts: { rules: rules({ ruleProblems: ["rule 0: x", "rule 1: y"], allInvalid: true }) },
      want: [
        ["Accepted", "False", "UnsupportedValue", "No rule of the route can be served: rule 0: x; rule 1: y"],
        ["ResolvedRefs", "True", "ResolvedRefs"],
      ],
    },
    {
      name: "every rule dropped, one for incompatible filters",
      facts: { rules: rules({ ruleProblems: ["rule 0: x"], allInvalid: true, incompatibleFilters: true }) },
      want: [
        ["Accepted", "False", "IncompatibleFilters", "No rule of the route can be served: rule 0: x"],
        ["ResolvedRefs", "True", "ResolvedRefs"],
      ],
    },
    {
      name: "a rejection hides dropped rules but not reference problems",
      facts: {
        rejection: { reason: "NoMatchingParent", message: "none" },
        rules: rules({
          ruleProblems: ["rule 1: x"],
          refProblems: [
            { reason: "BackendNotFound", message: 'Service "ns/a" not found' },
            { reason: "RefNotPermitted", message: "not permitted" },
            { reason: "BackendNotFound", message: 'Service "ns/a" not found' },
          ],
        }),
      },
      want: [
        ["Accepted", "False", "NoMatchingParent", "none"],
        ["ResolvedRefs", "False", "BackendNotFound", 'Service "ns/a" not found; not permitted'],
      ],
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const got = routeParentConditions({ generation: 7, ...c.facts });
      deepEqual(
        got.map((x, i) => [x.type, x.status, x.reason, ...(c.want[i]?.length > 3 ? [x.message] : [])]),
        c.want,
      );
      deepEqual(got.map((x) => x.observedGeneration), got.map(() => 7));
    });
  }
});

Deno.test("routeParentStatus() writes one entry per parentRef, keeping transition times of its old entry", () => {
  const route = httpRouteSchema.parse({
    metadata: { name: "r", namespace: "app", generation: 2 },
    spec: { parentRefs: [{ name: "gw", namespace: "infra", sectionName: "http" }, { name: "gw", namespace: "infra" }] },
    status: {
      parents: [{
        parentRef: { group: "gateway.networking.k8s.io", kind: "Gateway", name: "gw", namespace: "infra" },
        controllerName: OURS,
        conditions: [
          { ...routeAccepted(1), lastTransitionTime: OLD },
        ],
      }],
    },
  });
  const [withSection] = route.spec.parentRefs;
  const attached: AttachedRoute = {
    route,
    key: "app/r",
    rules: rules(),
    parentRefs: route.spec.parentRefs,
    rejections: new Map([[withSection, { reason: "NoMatchingParent" as const, message: "none" }]]),
    attachments: [],
  };
  const out = routeParentStatus(attached, "infra/gw", NOW);
  deepEqual(out.key, "app/r");
  deepEqual(out.gateway, "infra/gw");
  deepEqual(out.parents.map((p) => p.parentRef), [
    { group: "gateway.networking.k8s.io", kind: "Gateway", namespace: "infra", name: "gw", sectionName: "http" },
    { group: "gateway.networking.k8s.io", kind: "Gateway", namespace: "infra", name: "gw" },
  ]);
  deepEqual(out.parents.map((p) => p.controllerName), [OURS, OURS]);
  deepEqual(out.parents.map((p) => p.conditions[0].lastTransitionTime), [NOW, OLD]);
});

Deno.test("mergeRouteParents() replaces only our entries for the one Gateway", async (t) => {
  const mine = (name: string, extra = {}) => ({ parentRef: { name, ...extra }, controllerName: OURS });
  const theirs = { parentRef: { name: "gw" }, controllerName: "example.com/other" };
  const update = { key: "ns/r", gateway: "ns/gw", parents: [{ ...mine("gw"), conditions: [] }] };
  const cases: { name: string; current: ReturnType<typeof mine>[]; want: unknown[] }[] = [
    { name: "appends when we had none", current: [theirs], want: [theirs, update.parents[0]] },
    {
      name: "replaces ours in place, all our entries for the Gateway at once",
      current: [mine("gw"), theirs, mine("gw", { sectionName: "b" })],
      want: [update.parents[0], theirs],
    },
    {
      name: "keeps our entries for other Gateways and namespaces",
      current: [mine("other"), mine("gw", { namespace: "elsewhere" }), mine("gw")],
      want: [mine("other"), mine("gw", { namespace: "elsewhere" }), update.parents[0]],
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => deepEqual(mergeRouteParents(c.current, update, "ns"), c.want));
  }
  await t.step("removes ours when the update is empty", () => {
    deepEqual(mergeRouteParents([mine("gw"), theirs], { ...update, parents: [] }, "ns"), [theirs]);
  });
});
