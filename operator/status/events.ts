/**
 * Which Kubernetes Events a computed status deserves: one plan per object, a list of topics, each with its state
 * now, its state in the status the cluster has (so that a restarted operator does not repeat itself), and the
 * event to record when the two differ. The controllers hand each plan to `EventRecorder.transition`, which records
 * on changes only; this module decides nothing about time or I/O.
 *
 * | object            | topics and events                                                                           |
 * | ----------------- | ------------------------------------------------------------------------------------------- |
 * | Gateway           | `Accepted` (Warning with the spec's reason, Normal `Accepted`); `Programmed` (Normal        |
 * |                   | `Programmed`); one per kind of pod rejection (Warning `VCLRejected`, `RoutesSkipped`, ...); |
 * |                   | one per listener with a problem (Warning with the listener condition's reason); children   |
 * |                   | whose names are taken by objects not the Gateway's (Warning `ChildConflict`); pods being   |
 * |                   | replaced (Normal `Rolling`, then `Rolled`); fields of its own GatewayParameters its class   |
 * |                   | does not let it set (Warning `NotAllowedByClass`)                                           |
 * | HTTPRoute         | one per parent Gateway: Warning per problem (`NotAllowedByListeners`, `BackendNotFound`,   |
 * |                   | `RefNotPermitted`, `PartiallyInvalid` with the dropped rules, ...), else Normal `Accepted`; |
 * |                   | Warning `RuleSkipped` for its rules the gateway pods skipped or serve without caching      |
 * | GatewayParameters | Warning `InvalidParameters`, `VCLRejected` and `VCLInitFailed` for the Gateways using them |
 * | CachePolicy       | one per ancestor: Normal `Accepted`, or Warning `Conflicted`, `Invalid`, `TargetNotFound`;  |
 * |                   | Warning `RuleSkipped` for the rules it covers that the gateway pods serve uncached over it |
 *
 * @module
 */
import type { EventSpec, EventTransition } from "../../internal/kube/mod.ts";
import { RejectionKind } from "../../internal/data_plane_rejections.ts";
import type { Condition } from "../api_types.ts";
import { GatewayConditionType } from "./conditions.ts";
import { type DataPlaneProblem, describeProblem, isVclRejection } from "./data_plane.ts";
import type { ListenerStatus } from "./listener.ts";
import type { RouteParentStatus } from "./route_parent.ts";

/** One topic of an object: its state, and the event to record when the state changes. */
export interface PlannedEvent extends EventTransition {
  /** What to record on a change; none for states that deserve no event (such as "pending"). */
  event?: EventSpec;
}

type Conditions = readonly Pick<Condition, "type" | "status" | "reason" | "message">[] | undefined;

function find(conditions: Conditions, type: string) {
  return conditions?.find((c) => c.type === type);
}

function brief(c: { status: string; reason: string } | undefined): string | undefined {
  return c && `${c.status}:${c.reason}`;
}

/** Whether a condition of this type and status means something is wrong. */
function isProblem(c: { type: string; status: string }): boolean {
  return (c.type === "Conflicted" || c.type === "PartiallyInvalid") ? c.status === "True" : c.status !== "True";
}

function warning(reason: string, note: string, action = "Reconcile"): EventSpec {
  return { type: "Warning", reason, action, note };
}

function normal(reason: string, note: string, action = "Reconcile"): EventSpec {
  return { type: "Normal", reason, action, note };
}

/** What a Gateway's events are planned from. */
export interface GatewayEventFacts {
  /** The conditions the cluster has now (before this reconcile's write). */
  before?: Conditions;
  /** The listener entries the cluster has now. */
  listenersBefore?: readonly { name: string; conditions?: Conditions }[];
  /** The computed conditions. */
  conditions: Conditions;
  /** The computed listener entries. */
  listeners: readonly ListenerStatus[];
  /** What the pods rejected of the current configuration. */
  problems: readonly DataPlaneProblem[];
  /** How many gateway pods there are. */
  podCount: number;
  /** Where the user's VCL comes from, for VCL rejections. */
  vclSource?: string;
  /** The objects that hold the names of the Gateway's children (`describeConflicts`); empty or absent when none. */
  childConflicts?: string;
  /** How many pod templates the live gateway pods run (more than one while they are being replaced). */
  podTemplates?: number;
}

/** A listener's problems: its `Programmed` only follows the Gateway's and its other conditions, so it is left out. */
function listenerProblems<C extends { type: string; status: string }>(conditions: readonly C[] | undefined): C[] {
  return (conditions ?? []).filter((c) => c.type !== "Programmed" && isProblem(c));
}

function listenerState(conditions: Conditions): string {
  return listenerProblems(conditions).map((c) => `${c.type}:${c.reason}:${c.message}`).join("\n");
}

/** The short hash a problem is shown with in a condition message. */
function shown(problem: DataPlaneProblem, message: string | undefined): boolean {
  return message?.includes(problem.hash.slice(0, "sha256:".length + 12)) ?? false;
}

/**
 * Plans a Gateway's events.
 *
 * @example Usage
 * ```ts
 * import { gatewayEvents } from "./events.ts";
 * const conditions = [{ type: "Programmed", status: "True" as const, reason: "Programmed", message: "2 ready pods" }];
 * gatewayEvents({ conditions, listeners: [], problems: [], podCount: 2 })
 *   .find((e) => e.topic === "Programmed")?.event?.reason; // "Programmed"
 * ```
 *
 * @param facts The status before and after, and the pods' rejections.
 * @returns The topics.
 */
export function gatewayEvents(facts: GatewayEventFacts): PlannedEvent[] {
  const out: PlannedEvent[] = [];
  const accepted = find(facts.conditions, "Accepted");
  if (accepted) {
    const ok = accepted.status === "True" && accepted.reason === "Accepted";
    out.push({
      topic: "Accepted",
      state: `${brief(accepted)}:${accepted.message}`,
      assumed: find(facts.before, "Accepted") &&
        `${brief(find(facts.before, "Accepted"))}:${find(facts.before, "Accepted")!.message}`,
      event: ok ? normal("Accepted", accepted.message) : warning(accepted.reason, accepted.message),
    });
  }
  const programmed = find(facts.conditions, "Programmed");
  // Waiting (pods applying a new configuration, an address on its way) is no state of its own: back to True after
  // a route change is not news, back to True after a rejection is.
  if (programmed && (programmed.status === "True" || programmed.reason === "Invalid")) {
    out.push({
      topic: "Programmed",
      state: brief(programmed)!,
      assumed: brief(find(facts.before, "Programmed")),
      ...(programmed.status === "True" ? { event: normal("Programmed", programmed.message, "Program") } : {}),
    });
  }
  if (facts.podTemplates !== undefined) {
    const rolling = facts.podTemplates > 1;
    out.push({
      topic: "Rollout",
      state: rolling ? "rolling" : "steady",
      // Nothing in the status says a rollout is under way: a restarted operator assumes none.
      assumed: "steady",
      event: rolling
        ? normal("Rolling", `Gateway pods are being replaced: they run ${facts.podTemplates} pod templates`, "Rollout")
        : normal("Rolled", "Every gateway pod runs the current pod template", "Rollout"),
    });
  }
  const oldMessage = find(facts.before, "Programmed")?.message;
  for (const kind of Object.values(RejectionKind)) {
    const problems = facts.problems.filter((p) => p.kind === kind);
    const note = problems.map((p) => describeProblem(p, facts.podCount, facts.vclSource)).join("\n");
    out.push({
      topic: `Rejected/${kind}`,
      state: problems.map((p) => p.hash).join(","),
      assumed: facts.before ? problems.filter((p) => shown(p, oldMessage)).map((p) => p.hash).join(",") : undefined,
      ...(problems.length > 0 ? { event: warning(kind, note, "Program") } : {}),
    });
  }
  const conflicts = facts.childConflicts ?? "";
  out.push({
    topic: "ChildConflict",
    state: conflicts,
    // After a restart, a conflict the status already tells is not news.
    assumed: facts.before ? (oldMessage === conflicts ? conflicts : "") : undefined,
    ...(conflicts !== "" ? { event: warning("ChildConflict", conflicts) } : {}),
  });
  const refused = find(facts.conditions, GatewayConditionType.ParametersAllowed);
  const refusedState = (c: ReturnType<typeof find>) => c?.status === "False" ? c.message : "";
  out.push({
    topic: "ParametersAllowed",
    state: refusedState(refused),
    assumed: facts.before ? refusedState(find(facts.before, GatewayConditionType.ParametersAllowed)) : undefined,
    ...(refused?.status === "False" ? { event: warning(refused.reason, refused.message) } : {}),
  });
  const oldListeners = new Map(facts.listenersBefore?.map((l) => [l.name, l.conditions]));
  for (const listener of facts.listeners) {
    const bad = listenerProblems(listener.conditions);
    const note = bad.map((c) => `Listener "${listener.name}": ${c.message}`).join("\n");
    out.push({
      topic: `Listener/${listener.name}`,
      state: listenerState(listener.conditions),
      assumed: oldListeners.has(listener.name) ? listenerState(oldListeners.get(listener.name)) : undefined,
      ...(bad.length > 0 ? { event: warning(bad[0].reason, note) } : {}),
    });
  }
  return out;
}

/**
 * Plans the events of the GatewayParameters a Gateway uses: its parameters are invalid, or its VCL was rejected.
 *
 * @param gateway The Gateway's `namespace/name`, named in the notes.
 * @param facts The Gateway's computed conditions, and the pods' rejections.
 * @returns The topics (each GatewayParameters object of the Gateway gets them all).
 */
export function parametersEvents(
  gateway: string,
  facts: Pick<GatewayEventFacts, "conditions" | "before" | "problems" | "podCount" | "vclSource">,
): PlannedEvent[] {
  const accepted = find(facts.conditions, "Accepted");
  const invalid = accepted?.reason === "InvalidParameters" ? accepted.message : "";
  const vcl = facts.problems.filter((p) => isVclRejection(p.kind));
  const old = find(facts.before, "Accepted");
  return [
    {
      topic: `Gateway/${gateway}/Accepted`,
      state: invalid,
      assumed: facts.before ? (old?.reason === "InvalidParameters" ? old.message : "") : undefined,
      ...(invalid ? { event: warning("InvalidParameters", `Gateway ${gateway}: ${invalid}`) } : {}),
    },
    {
      topic: `Gateway/${gateway}/VCL`,
      state: vcl.map((p) => p.hash).join(","),
      assumed: facts.before
        ? vcl.filter((p) => shown(p, find(facts.before, "Programmed")?.message)).map((p) => p.hash).join(",")
        : undefined,
      ...(vcl.length > 0
        ? {
          event: warning(
            vcl[0].kind,
            `Gateway ${gateway}: ${vcl.map((p) => describeProblem(p, facts.podCount, facts.vclSource)).join("\n")}`,
            "Program",
          ),
        }
        : {}),
    },
  ];
}

/** How ghost ends the reason of a rule it serves without its cache settings rather than skipping it. */
const UNCACHED = "; the rule is served without caching";

/** The rules the gateway pods skipped or serve without caching, from the lines of `RoutesSkipped` rejections, each once. */
function skippedRules(
  problems: readonly DataPlaneProblem[],
): { route: string; rule: string; reason: string; uncached: boolean }[] {
  const lines = new Set<string>();
  for (const problem of problems) {
    if (problem.kind === RejectionKind.RoutesSkipped) {
      for (const line of problem.message.split("\n")) lines.add(line);
    }
  }
  return [...lines].flatMap((line) => {
    const match = /^([^/\s]+\/[^/\s]+) rule (\d+): (.*)$/.exec(line);
    if (!match) return [];
    const [, route, rule, reason] = match;
    const uncached = reason.endsWith(UNCACHED);
    return [{ route, rule, reason: uncached ? reason.slice(0, -UNCACHED.length) : reason, uncached }];
  });
}

/** What a Gateway does with a rule, for the start of a note (`rule` may name its route too). */
function served(rule: string, uncached: boolean): string {
  return uncached ? `serves rule ${rule} without caching` : `does not serve rule ${rule}`;
}

function ruleSkippedPlans(topic: string, notes: Map<string, string[]>): Map<string, PlannedEvent> {
  return new Map([...notes].map(([key, lines]) => [key, {
    topic,
    state: lines.join("\n"),
    event: warning("RuleSkipped", lines.join("\n"), "Program"),
  }]));
}

function push(map: Map<string, string[]>, key: string, line: string): void {
  map.set(key, [...map.get(key) ?? [], line]);
}

/**
 * Plans the `RuleSkipped` Warnings of the routes whose rules the gateway pods skipped, from the lines of the
 * `RoutesSkipped` rejections (`<namespace>/<name> rule <n>: <reason>`, as ghost names them).
 *
 * @example Usage
 * ```ts
 * import { skippedRuleEvents } from "./events.ts";
 * const problem = { kind: "RoutesSkipped" as const, hash: "sha256:ab", pods: ["gw-1"],
 *   message: "1 route(s) skipped\nns/big rule 0: invalid regular expression" };
 * skippedRuleEvents("ns/gw", [problem]).get("ns/big")?.event?.note;
 * // "Gateway ns/gw does not serve rule 0: invalid regular expression"
 * ```
 *
 * @param gateway The Gateway's `namespace/name`.
 * @param problems What the Gateway's pods rejected of the current configuration.
 * @returns The topic of each route with skipped rules, by route `namespace/name`.
 */
export function skippedRuleEvents(gateway: string, problems: readonly DataPlaneProblem[]): Map<string, PlannedEvent> {
  const notes = new Map<string, string[]>();
  for (const { route, rule, reason, uncached } of skippedRules(problems)) {
    push(notes, route, `Gateway ${gateway} ${served(rule, uncached)}: ${reason}`);
  }
  return ruleSkippedPlans(`Skipped/${gateway}`, notes);
}

/**
 * Plans the `RuleSkipped` Warnings of the CachePolicies whose settings the gateway pods could not apply to the
 * rules they cover (ghost's reason starts with `cache`, such as a bypass regex over its size limit), so that those
 * rules are served without caching: the operator's checks let the policy through, so its status says Accepted,
 * and without this its owner would not learn that the policy has no effect.
 *
 * @example Usage
 * ```ts
 * import { skippedPolicyEvents } from "./events.ts";
 * const problem = { kind: "RoutesSkipped" as const, hash: "sha256:ab", pods: ["gw-1"],
 *   message: "0 route(s) skipped, 1 served without caching\nns/shop rule 0: cache.bypass[0].valueRegex \"a{99999}\" " +
 *     "is not a valid regular expression; the rule is served without caching" };
 * skippedPolicyEvents("ns/gw", [problem], () => "ns/p").get("ns/p")?.event?.note;
 * // "Gateway ns/gw serves rule 0 of HTTPRoute ns/shop without caching: cache.bypass[0].valueRegex ..."
 * ```
 *
 * @param gateway The Gateway's `namespace/name`.
 * @param problems What the Gateway's pods rejected of the current configuration.
 * @param policyOf The CachePolicy (`namespace/name`) of a rule, by its route's `namespace/name` and rule index.
 * @returns The topic of each policy whose settings were not applied, by policy `namespace/name`.
 */
export function skippedPolicyEvents(
  gateway: string,
  problems: readonly DataPlaneProblem[],
  policyOf: (route: string, rule: number) => string | undefined,
): Map<string, PlannedEvent> {
  const notes = new Map<string, string[]>();
  for (const { route, rule, reason, uncached } of skippedRules(problems)) {
    const policy = reason.startsWith("cache") ? policyOf(route, Number(rule)) : undefined;
    const what = served(`${rule} of HTTPRoute ${route}`, uncached);
    if (policy) push(notes, policy, `Gateway ${gateway} ${what}: ${reason}`);
  }
  return ruleSkippedPlans(`Skipped/${gateway}`, notes);
}

function parentState(conditions: Conditions): string {
  return (conditions ?? []).map((c) => `${c.type}=${c.status}:${c.reason}:${c.message}`).sort().join("\n");
}

function parentKey(parent: { parentRef: Record<string, unknown> }): string {
  const ref = parent.parentRef;
  return `${ref.namespace ?? ""}/${ref.name}/${ref.sectionName ?? ""}/${ref.port ?? ""}`;
}

/**
 * Plans an HTTPRoute's events for one Gateway's parent entries.
 *
 * @example Usage
 * ```ts
 * import { routeEvents } from "./events.ts";
 * const parent = {
 *   parentRef: { name: "gw" },
 *   controllerName: "lacquer.dev/gateway-controller",
 *   conditions: [{ type: "ResolvedRefs", status: "False" as const, reason: "BackendNotFound", message: "Service ns/a not found",
 *     lastTransitionTime: "2026-01-01T00:00:00Z" }],
 * };
 * routeEvents("ns/gw", [parent], undefined)[0].event?.reason; // "BackendNotFound"
 * ```
 *
 * @param gateway The Gateway's `namespace/name`.
 * @param parents Our computed entries for that Gateway.
 * @param before The route's current `status.parents` (all controllers'), if it has a status.
 * @param kind The parent's kind: the entries may be about one of the Gateway's ListenerSets.
 * @returns The topics.
 */
export function routeEvents(
  gateway: string,
  parents: readonly RouteParentStatus[],
  before:
    | readonly { parentRef: Record<string, unknown>; controllerName?: string; conditions?: Conditions }[]
    | undefined,
  kind: "Gateway" | "ListenerSet" = "Gateway",
): PlannedEvent[] {
  return parents.map((parent) => {
    const key = parentKey(parent);
    const old = before?.find((p) => p.controllerName === parent.controllerName && parentKey(p) === key);
    const bad = parent.conditions.filter(isProblem);
    const section = parent.parentRef.sectionName ? ` (listener "${parent.parentRef.sectionName}")` : "";
    const event = bad.length === 0 ? normal("Accepted", `Accepted by ${kind} ${gateway}${section}`) : warning(
      bad[0].type === "PartiallyInvalid" ? "PartiallyInvalid" : bad[0].reason,
      bad.map((c) => `${kind} ${gateway}${section}: ${c.message}`).join("\n"),
    );
    return {
      topic: `Parent/${key}`,
      state: parentState(parent.conditions),
      assumed: before ? parentState(old?.conditions) : undefined,
      event,
    };
  });
}

/**
 * Plans a CachePolicy's events, one topic per ancestor it reports on.
 *
 * @param ancestors Our computed `status.ancestors` entries.
 * @param before The policy's current `status.ancestors`, if it has a status.
 * @returns The topics.
 */
export function policyEvents(
  ancestors: readonly { ancestorRef: Record<string, unknown>; conditions: Conditions }[],
  before: readonly { ancestorRef: Record<string, unknown>; conditions?: Conditions }[] | undefined,
): PlannedEvent[] {
  const refKey = (ref: Record<string, unknown>) =>
    `${ref.kind ?? "Gateway"}/${ref.namespace ?? ""}/${ref.name}/${ref.sectionName ?? ""}`;
  return ancestors.map((ancestor) => {
    const key = refKey(ancestor.ancestorRef);
    const accepted = find(ancestor.conditions, "Accepted");
    const old = find(before?.find((b) => refKey(b.ancestorRef) === key)?.conditions, "Accepted");
    const state = accepted ? `${brief(accepted)}:${accepted.message}` : "";
    const target = `${ancestor.ancestorRef.kind ?? "Gateway"} ${ancestor.ancestorRef.name}`;
    return {
      topic: `Ancestor/${key}`,
      state,
      assumed: before ? (old ? `${brief(old)}:${old.message}` : "") : undefined,
      ...(accepted
        ? {
          event: accepted.status === "True"
            ? normal("Accepted", `${target}: ${accepted.message}`)
            : warning(accepted.reason, `${target}: ${accepted.message}`),
        }
        : {}),
    };
  });
}
