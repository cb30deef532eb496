import { deepEqual, equal, match } from "node:assert/strict";
import {
  gatewayEvents,
  parametersEvents,
  policyEvents,
  routeEvents,
  skippedPolicyEvents,
  skippedRuleEvents,
} from "./events.ts";

const T = "2026-01-01T00:00:00Z";
const cond = (type: string, status: "True" | "False", reason: string, message = "m") => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: T,
});
const vclProblem = {
  kind: "VCLRejected" as const,
  hash: "sha256:aaaaaaaaaaaaaaaaaaaa",
  pods: ["gw-1"],
  message: "bad",
};

Deno.test("gatewayEvents(): Programmed and Accepted are Normal; a pod rejection is a Warning with its kind", () => {
  const plan = gatewayEvents({
    conditions: [cond("Accepted", "True", "Accepted"), cond("Programmed", "False", "Invalid")],
    listeners: [],
    problems: [vclProblem],
    podCount: 1,
    vclSource: "cm",
  });
  const byTopic = Object.fromEntries(plan.map((p) => [p.topic, p]));
  equal(byTopic.Accepted.event?.type, "Normal");
  equal(byTopic.Programmed.event, undefined, "Programmed=False deserves no event of its own");
  equal(byTopic["Rejected/VCLRejected"].event?.type, "Warning");
  equal(byTopic["Rejected/VCLRejected"].state, vclProblem.hash);
  match(
    byTopic["Rejected/VCLRejected"].event!.note,
    /main\.vcl was rejected.*\(gw-1\), configuration sha256:aaaaaaaaaaaa:\nbad/,
  );
  equal(byTopic["Rejected/RoutesSkipped"].state, "");
  equal(byTopic["Rejected/RoutesSkipped"].event, undefined);
});

Deno.test("gatewayEvents(): what the status already shows is assumed, so a restarted operator repeats nothing", () => {
  const conditions = [
    cond("Accepted", "True", "Accepted", "Gateway is accepted"),
    cond("Programmed", "False", "Invalid", "main.vcl was rejected ... configuration sha256:aaaaaaaaaaaa:\nbad"),
  ];
  const plan = gatewayEvents({ before: conditions, conditions, listeners: [], problems: [vclProblem], podCount: 1 });
  for (const p of plan) equal(p.assumed, p.state, p.topic);
  // Without a status yet, nothing is assumed: a new Gateway gets its events.
  const fresh = gatewayEvents({ conditions, listeners: [], problems: [vclProblem], podCount: 1 });
  equal(fresh.find((p) => p.topic === "Rejected/VCLRejected")?.assumed, undefined);
});

Deno.test("gatewayEvents(): a listener with a problem gets a Warning with the listener condition's reason", () => {
  const listeners = [
    {
      name: "https",
      supportedKinds: [],
      attachedRoutes: 0,
      conditions: [
        cond("Accepted", "True", "Accepted"),
        cond("ResolvedRefs", "False", "InvalidCertificateRef", 'Secret "ns/cert" not found'),
        cond("Conflicted", "False", "NoConflicts"),
      ],
    },
    {
      name: "http",
      supportedKinds: [],
      attachedRoutes: 0,
      conditions: [cond("Accepted", "True", "Accepted"), cond("Programmed", "False", "Pending")],
    },
  ];
  const plan = gatewayEvents({ conditions: [], listeners, problems: [], podCount: 0 });
  const https = plan.find((p) => p.topic === "Listener/https")!;
  equal(https.event?.reason, "InvalidCertificateRef");
  equal(https.event?.note, 'Listener "https": Secret "ns/cert" not found');
  equal(plan.find((p) => p.topic === "Listener/http")?.event, undefined);
});

Deno.test("routeEvents(): a Warning per problem with the spec's reason, else Accepted; per parent", () => {
  const parent = (conditions: ReturnType<typeof cond>[], sectionName?: string) => ({
    parentRef: { name: "gw", namespace: "ns", ...(sectionName ? { sectionName } : {}) },
    controllerName: "lacquer.dev/gateway-controller",
    conditions,
  });
  const dropped = parent([
    cond("Accepted", "True", "Accepted"),
    cond("ResolvedRefs", "False", "BackendNotFound", 'Service "ns/missing" not found'),
    cond("PartiallyInvalid", "True", "UnsupportedValue", "Dropped Rule(s): rule 1: bad regex"),
  ]);
  const fine = parent([cond("Accepted", "True", "Accepted"), cond("ResolvedRefs", "True", "ResolvedRefs")], "http");
  const [bad, good] = routeEvents("ns/gw", [dropped, fine], undefined);
  equal(bad.event?.reason, "BackendNotFound");
  equal(
    bad.event?.note,
    'Gateway ns/gw: Service "ns/missing" not found\nGateway ns/gw: Dropped Rule(s): rule 1: bad regex',
  );
  deepEqual([good.event?.type, good.event?.reason, good.event?.note], [
    "Normal",
    "Accepted",
    'Accepted by Gateway ns/gw (listener "http")',
  ]);
  equal(bad.assumed, undefined);
  const again = routeEvents("ns/gw", [dropped], [dropped]);
  equal(again[0].assumed, again[0].state, "the status already says it");
  const refused = parent([
    cond("Accepted", "True", "Accepted"),
    cond("ResolvedRefs", "False", "RefNotPermitted", "no ReferenceGrant"),
  ]);
  equal(routeEvents("ns/gw", [refused], [])[0].event?.reason, "RefNotPermitted");
});

Deno.test("parametersEvents() and policyEvents()", () => {
  const params = parametersEvents("ns/gw", {
    conditions: [cond("Accepted", "False", "InvalidParameters", 'ConfigMap "ns/vcl" not found')],
    problems: [vclProblem],
    podCount: 1,
  });
  equal(params[0].event?.reason, "InvalidParameters");
  equal(params[0].event?.note, 'Gateway ns/gw: ConfigMap "ns/vcl" not found');
  equal(params[1].event?.reason, "VCLRejected");
  const fine = parametersEvents("ns/gw", {
    conditions: [cond("Accepted", "True", "Accepted")],
    problems: [],
    podCount: 1,
  });
  deepEqual(fine.map((p) => [p.state, p.event]), [["", undefined], ["", undefined]]);

  const ref = { group: "gateway.networking.k8s.io", kind: "Gateway", namespace: "ns", name: "gw" };
  const [conflicted] = policyEvents(
    [{ ancestorRef: ref, conditions: [cond("Accepted", "False", "Conflicted", "another policy wins")] }],
    undefined,
  );
  equal(conflicted.event?.reason, "Conflicted");
  equal(conflicted.event?.note, "Gateway gw: another policy wins");
  const [accepted] = policyEvents([{ ancestorRef: ref, conditions: [cond("Accepted", "True", "Accepted", "ok")] }], []);
  equal(accepted.event?.type, "Normal");
  equal(accepted.assumed, "");
});

Deno.test("gatewayEvents(): waiting for pods is no state of its own, so a route change records nothing", () => {
  const pending = gatewayEvents({
    conditions: [cond("Programmed", "False", "Pending")],
    listeners: [],
    problems: [],
    podCount: 1,
  });
  equal(pending.find((p) => p.topic === "Programmed"), undefined);
});

Deno.test("skippedRuleEvents() gives each route the rules the pods skipped", () => {
  const problem = {
    kind: "RoutesSkipped" as const,
    hash: "sha256:ab",
    pods: ["gw-1"],
    message: "3 route(s) skipped\nns/a rule 0: bad regex\nns/b rule 2: dangling policy\nns/a rule 1: too big\n…",
  };
  const plans = skippedRuleEvents("ns/gw", [problem, { ...vclProblem }]);
  equal(plans.size, 2);
  equal(
    plans.get("ns/a")?.event?.note,
    "Gateway ns/gw does not serve rule 0: bad regex\nGateway ns/gw does not serve rule 1: too big",
  );
  equal(plans.get("ns/b")?.event?.reason, "RuleSkipped");
  equal(plans.get("ns/b")?.topic, "Skipped/ns/gw");
});

Deno.test("skippedRuleEvents() names a rule skipped on several listeners once", () => {
  const line = "ns/a rule 0: bad regex";
  const problem = { kind: "RoutesSkipped" as const, hash: "sha256:ab", pods: ["gw-1"], message: `2\n${line}\n${line}` };
  equal(
    skippedRuleEvents("ns/gw", [problem]).get("ns/a")?.event?.note,
    "Gateway ns/gw does not serve rule 0: bad regex",
  );
});

Deno.test("skippedRuleEvents() tells a route which rules are served without caching", () => {
  const problem = {
    kind: "RoutesSkipped" as const,
    hash: "sha256:ab",
    pods: ["gw-1"],
    message: "1 route(s) skipped, 1 served without caching\nns/a rule 0: bad regex\n" +
      'ns/a rule 1: cache names the cache policy "ns/q", which cachePolicies does not hold; the rule is served ' +
      "without caching",
  };
  equal(
    skippedRuleEvents("ns/gw", [problem]).get("ns/a")?.event?.note,
    "Gateway ns/gw does not serve rule 0: bad regex\nGateway ns/gw serves rule 1 without caching: cache names the " +
      'cache policy "ns/q", which cachePolicies does not hold',
  );
});

Deno.test("skippedPolicyEvents() tells a CachePolicy the rules served without its settings, and only those", () => {
  const uncached = "; the rule is served without caching";
  const problem = {
    kind: "RoutesSkipped" as const,
    hash: "sha256:ab",
    pods: ["gw-1"],
    message: [
      "1 route(s) skipped, 2 served without caching",
      `ns/shop rule 1: cache.bypass[0].valueRegex "a{99999}" is not a valid regular expression${uncached}`,
      `ns/shop rule 1: cache.bypass[0].valueRegex "a{99999}" is not a valid regular expression${uncached}`,
      "ns/shop rule 0: invalid regular expression",
      `ns/plain rule 0: cache settings name no policy${uncached}`,
    ].join("\n"),
  };
  const policyOf = (route: string, rule: number) => route === "ns/shop" ? `ns/p${rule}` : undefined;
  const plans = skippedPolicyEvents("ns/gw", [problem], policyOf);
  deepEqual([...plans.keys()], ["ns/p1"]);
  equal(
    plans.get("ns/p1")?.event?.note,
    'Gateway ns/gw serves rule 1 of HTTPRoute ns/shop without caching: cache.bypass[0].valueRegex "a{99999}" is not ' +
      "a valid regular expression",
  );
  equal(plans.get("ns/p1")?.event?.type, "Warning");
  equal(plans.get("ns/p1")?.event?.reason, "RuleSkipped");
  equal(plans.get("ns/p1")?.topic, "Skipped/ns/gw");
});

Deno.test("gatewayEvents(): pods being replaced are Rolling, then Rolled; no rollout is no news", () => {
  const plan = (podTemplates: number) =>
    gatewayEvents({ conditions: [], listeners: [], problems: [], podCount: 2, podTemplates })
      .find((p) => p.topic === "Rollout")!;
  deepEqual([plan(2).state, plan(2).event?.reason, plan(2).event?.type], ["rolling", "Rolling", "Normal"]);
  deepEqual([plan(1).state, plan(1).assumed, plan(1).event?.reason], ["steady", "steady", "Rolled"]);
  equal(
    gatewayEvents({ conditions: [], listeners: [], problems: [], podCount: 0 }).some((p) => p.topic === "Rollout"),
    false,
  );
});

Deno.test("gatewayEvents(): fields of its own GatewayParameters the class refused are a Warning, once", () => {
  const refused = cond("lacquer.dev/ParametersAllowed", "False", "NotAllowedByClass", "does not let its Gateways set");
  const accepted = cond("Accepted", "True", "Accepted");
  const topic = (conditions: ReturnType<typeof cond>[], before?: ReturnType<typeof cond>[]) =>
    gatewayEvents({ conditions, before, listeners: [], problems: [], podCount: 1 })
      .find((p) => p.topic === "ParametersAllowed")!;
  const fresh = topic([accepted, refused]);
  deepEqual([fresh.event?.type, fresh.event?.reason, fresh.event?.note], [
    "Warning",
    "NotAllowedByClass",
    "does not let its Gateways set",
  ]);
  const again = topic([accepted, refused], [accepted, refused]);
  equal(again.assumed, again.state, "the status already tells it");
  const fixed = topic([accepted, cond("lacquer.dev/ParametersAllowed", "True", "Allowed")], [accepted, refused]);
  deepEqual([fixed.state, fixed.event], ["", undefined]);
  equal(topic([accepted]).state, "");
});
