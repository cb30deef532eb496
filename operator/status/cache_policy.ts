/**
 * CachePolicy status: `status.ancestors[]` per Gateway API policy attachment (GEP-713), one entry per
 * ancestor with an `Accepted` condition (reasons Accepted, Conflicted, Invalid, TargetNotFound).
 *
 * Ancestors: for a Gateway target, the Gateway (with `sectionName` for a listener); for an HTTPRoute target, each
 * Gateway of our controller its parentRefs name; for an Ingress target, the Gateway its Lacquer IngressClass names. A
 * target that cannot be found (a missing Gateway, listener, route
 * or route rule, or a route with no Gateway of ours) is reported on the target itself as ancestor, so the user always
 * sees why a policy does not apply.
 *
 * @module
 */
import { CONTROLLER_NAME } from "../../internal/names.ts";
import { type Gateway, GATEWAY_GROUP, type GatewayClass, type HttpRoute } from "../api_types.ts";
import { classGateway, type Ingress, type IngressClass, ingressClassOf } from "../ingress/mod.ts";
import { mergeConditions, type NewCondition, policyAccepted, policyNotAccepted } from "./conditions.ts";
import {
  type CachePolicy,
  type PolicyAncestor,
  type PolicyOutcome,
  resolvePolicies,
  type TargetOutcome,
} from "../cache_policy/mod.ts";

/** The most ancestors the CRD's status holds. */
export const MAX_ANCESTORS = 16;

/** Lookups into the cluster's objects for {@linkcode cachePolicyAncestors}. */
export interface PolicyWorld {
  /** A Gateway by `namespace/name`. */
  gateway(key: string): Gateway | undefined;
  /** An HTTPRoute by `namespace/name`. */
  route(key: string): HttpRoute | undefined;
  /** Tells whether a Gateway belongs to a GatewayClass of our controller. */
  ours(gateway: Gateway): boolean;
  /**
   * An Ingress of a Lacquer IngressClass by `namespace/name`, with the Gateway (`namespace/name`) its class names
   * (none when the class names none); undefined when there is no such Ingress or it is not of a Lacquer class.
   */
  ingress(key: string): { gateway?: string } | undefined;
}

/** Options for {@linkcode cachePolicyAncestors}. */
export interface PolicyStatusOptions {
  /** The current time (RFC 3339, whole seconds), for conditions whose status flips. */
  now: string;
}

type Verdict = { kind: "applied" } | { kind: "conflicted" | "notFound"; message: string };

interface Ancestor {
  ref: Record<string, unknown>;
  verdicts: Verdict[];
}

function describe(outcome: TargetOutcome): string {
  const t = outcome.target;
  if (t.kind === "Ingress") return `Ingress "${t.name}"`;
  if (t.kind === "Gateway") {
    return t.sectionName === undefined ? `Gateway "${t.name}"` : `listener "${t.sectionName}" of Gateway "${t.name}"`;
  }
  return t.sectionName === undefined ? `HTTPRoute "${t.name}"` : `rule "${t.sectionName}" of HTTPRoute "${t.name}"`;
}

function refKey(ref: Record<string, unknown>): string {
  return JSON.stringify([ref.group, ref.kind, ref.namespace, ref.name, ref.sectionName ?? ""]);
}

/** One verdict on one ancestor reference. */
type Placement = [ref: Record<string, unknown>, verdict: Verdict];

/** The ancestors one target's verdict lands on, each with that verdict. */
function placeTarget(outcome: TargetOutcome, namespace: string, world: PolicyWorld): Placement[] {
  const t = outcome.target;
  const self = {
    group: t.group,
    kind: t.kind,
    namespace,
    name: t.name,
    ...(t.sectionName === undefined ? {} : { sectionName: t.sectionName }),
  };
  const found: Verdict = outcome.conflictedBy === undefined ? { kind: "applied" } : {
    kind: "conflicted",
    message: `${describe(outcome)} is held by the older CachePolicy "${outcome.conflictedBy}"`,
  };
  if (t.kind === "Ingress") {
    const ingress = world.ingress(`${namespace}/${t.name}`);
    const notFound = (message: string): Placement[] => [[self, { kind: "notFound", message }]];
    if (!ingress) return notFound(`Ingress "${t.name}" of a Lacquer IngressClass not found`);
    if (!ingress.gateway) return notFound(`the IngressClass of Ingress "${t.name}" names no Gateway`);
    const gateway = world.gateway(ingress.gateway);
    if (!gateway || !world.ours(gateway)) {
      return notFound(`Gateway "${ingress.gateway}" of Ingress "${t.name}" not found or not of ${CONTROLLER_NAME}`);
    }
    const [ns, name] = ingress.gateway.split("/");
    return [[{ group: GATEWAY_GROUP, kind: "Gateway", namespace: ns, name }, found]];
  }
  if (t.kind === "Gateway") {
    const gateway = world.gateway(`${namespace}/${t.name}`);
    if (!gateway) return [[self, { kind: "notFound", message: `Gateway "${t.name}" not found` }]];
    if (!world.ours(gateway)) {
      return [[self, {
        kind: "notFound",
        message: `Gateway "${t.name}" is not of a GatewayClass of ${CONTROLLER_NAME}`,
      }]];
    }
    if (t.sectionName !== undefined && !gateway.spec.listeners.some((l) => l.name === t.sectionName)) {
      return [[self, { kind: "notFound", message: `Gateway "${t.name}" has no listener "${t.sectionName}"` }]];
    }
    return [[self, found]];
  }
  const route = world.route(`${namespace}/${t.name}`);
  if (!route) return [[self, { kind: "notFound", message: `HTTPRoute "${t.name}" not found` }]];
  const gateways = new Map<string, Record<string, unknown>>();
  for (const ref of route.spec.parentRefs) {
    if (ref.group !== GATEWAY_GROUP || ref.kind !== "Gateway") continue;
    const ns = ref.namespace ?? namespace;
    const gateway = world.gateway(`${ns}/${ref.name}`);
    if (gateway && world.ours(gateway)) {
      gateways.set(`${ns}/${ref.name}`, { group: GATEWAY_GROUP, kind: "Gateway", namespace: ns, name: ref.name });
    }
  }
  const where = gateways.size > 0 ? [...gateways.values()] : [self];
  const missingRule = t.sectionName !== undefined && !route.spec.rules.some((r) => r.name === t.sectionName);
  const verdict: Verdict = missingRule
    ? { kind: "notFound", message: `HTTPRoute "${t.name}" has no rule named "${t.sectionName}"` }
    : gateways.size === 0
    ? { kind: "notFound", message: `HTTPRoute "${t.name}" has no parent Gateway of ${CONTROLLER_NAME}` }
    : found;
  return where.map((ref): Placement => [ref, verdict]);
}

function ancestorCondition(verdicts: Verdict[], problems: string[] | undefined, gen: number | undefined): NewCondition {
  if (problems) return policyNotAccepted("Invalid", `CachePolicy is invalid: ${problems.join("; ")}`, gen);
  const others = verdicts.filter((v) => v.kind !== "applied").map((v) => (v as { message: string }).message);
  const uniqueOthers = [...new Set(others)];
  if (verdicts.some((v) => v.kind === "applied")) {
    return policyAccepted(
      uniqueOthers.length === 0
        ? "CachePolicy is accepted"
        : `CachePolicy is accepted; it does not apply where ${uniqueOthers.join("; ")}`,
      gen,
    );
  }
  const conflicted = verdicts.some((v) => v.kind === "conflicted");
  return policyNotAccepted(conflicted ? "Conflicted" : "TargetNotFound", uniqueOthers.join("; "), gen);
}

/**
 * Computes a policy's `status.ancestors` entries of our controller, with conditions merged into the current ones
 * (`lastTransitionTime` kept unless the status flips). At most {@linkcode MAX_ANCESTORS}, sorted by ancestor.
 *
 * @example Usage
 * ```ts
 * import { cachePolicyAncestors } from "./cache_policy.ts";
 * import { resolvePolicies } from "../cache_policy/mod.ts";
 * import { cachePolicySchema } from "../cache_policy/mod.ts";
 * const policy = cachePolicySchema.parse({
 *   metadata: { name: "p", namespace: "shop" },
 *   spec: { targetRefs: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", name: "gone" }] },
 * });
 * const outcome = resolvePolicies([policy]).policies.get("shop/p")!;
 * const world = { gateway: () => undefined, route: () => undefined, ours: () => true, ingress: () => undefined };
 * const [ancestor] = cachePolicyAncestors(outcome, world, { now: "2026-01-01T00:00:00Z" });
 * // ancestor.conditions[0].reason === "TargetNotFound"
 * ```
 *
 * @param outcome The policy's resolution.
 * @param world Lookups for Gateways and routes.
 * @param options The clock.
 * @returns The entries.
 */
export function cachePolicyAncestors(
  outcome: PolicyOutcome,
  world: PolicyWorld,
  options: PolicyStatusOptions,
): PolicyAncestor[] {
  const { policy, validated } = outcome;
  const namespace = policy.metadata.namespace ?? "";
  const ancestors = new Map<string, Ancestor>();
  const add = (ref: Record<string, unknown>, verdict: Verdict) => {
    const key = refKey(ref);
    const entry = ancestors.get(key);
    if (entry) entry.verdicts.push(verdict);
    else ancestors.set(key, { ref, verdicts: [verdict] });
  };
  for (const target of outcome.targets) {
    for (const [ref, verdict] of placeTarget(target, namespace, world)) add(ref, verdict);
  }
  if (ancestors.size === 0) {
    // An invalid policy without one well-formed target: report it on the policy itself.
    add({ group: "lacquer.dev", kind: "CachePolicy", namespace, name: policy.metadata.name }, {
      kind: "notFound",
      message: "CachePolicy has no valid target",
    });
  }
  const problems = validated.valid ? undefined : validated.problems;
  const gen = policy.metadata.generation;
  const old = policy.status?.ancestors ?? [];
  return [...ancestors.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).slice(0, MAX_ANCESTORS)
    .map(([key, { ref, verdicts }]) => {
      const previous = old.find((o) => o.controllerName === CONTROLLER_NAME && refKey(o.ancestorRef) === key);
      return {
        ancestorRef: ref,
        controllerName: CONTROLLER_NAME,
        conditions: mergeConditions(previous?.conditions, [ancestorCondition(verdicts, problems, gen)], options.now),
      };
    });
}

/** The objects {@linkcode cachePolicyStatuses} reads (a snapshot has them all). */
export interface PolicyStatusInput {
  /** The policies to report on, and every other policy of their namespaces (for conflicts). */
  cachePolicies: readonly CachePolicy[];
  /** Gateways, at least those of the policies' namespaces and those their target routes name. */
  gateways: readonly Gateway[];
  /** HTTPRoutes, at least those of the policies' namespaces. */
  httpRoutes: readonly HttpRoute[];
  /** GatewayClasses (which Gateways are ours). */
  gatewayClasses: readonly GatewayClass[];
  /** Ingresses, at least those of the policies' namespaces (targets of kind Ingress). */
  ingresses?: readonly Ingress[];
  /** IngressClasses (which Ingresses are ours, and their Gateways). */
  ingressClasses?: readonly IngressClass[];
}

/** One policy's computed status. */
export interface PolicyStatusResult {
  /** The policy's `namespace/name`. */
  key: string;
  /** Our `status.ancestors` entries. */
  ancestors: PolicyAncestor[];
}

/**
 * Computes the status of every policy of the input, sorted by policy key.
 *
 * @example Usage
 * ```ts
 * import { cachePolicyStatuses } from "./cache_policy.ts";
 * const none = cachePolicyStatuses(
 *   { cachePolicies: [], gateways: [], httpRoutes: [], gatewayClasses: [] },
 *   { now: "2026-01-01T00:00:00Z" },
 * );
 * // none.length === 0
 * ```
 *
 * @param input The policies and the objects they may target.
 * @param options The clock.
 * @returns One result per policy.
 */
export function cachePolicyStatuses(input: PolicyStatusInput, options: PolicyStatusOptions): PolicyStatusResult[] {
  const key = (o: { metadata: { namespace?: string; name: string } }) =>
    `${o.metadata.namespace ?? ""}/${o.metadata.name}`;
  const gateways = new Map(input.gateways.map((g) => [key(g), g]));
  const routes = new Map(input.httpRoutes.map((r) => [key(r), r]));
  const classes = new Map(input.gatewayClasses.map((c) => [c.metadata.name, c]));
  const ingresses = new Map((input.ingresses ?? []).map((i) => [key(i), i]));
  const ingressClasses = input.ingressClasses ?? [];
  const world: PolicyWorld = {
    gateway: (k) => gateways.get(k),
    route: (k) => routes.get(k),
    ours: (g) => classes.get(g.spec.gatewayClassName)?.spec.controllerName === CONTROLLER_NAME,
    ingress: (k) => {
      const ingress = ingresses.get(k);
      const cls = ingress && ingressClassOf(ingress, ingressClasses);
      if (!cls) return undefined;
      const target = classGateway(cls);
      return "gateway" in target ? { gateway: target.gateway } : {};
    },
  };
  const resolution = resolvePolicies(input.cachePolicies);
  return [...resolution.policies].map(([k, outcome]) => ({
    key: k,
    ancestors: cachePolicyAncestors(outcome, world, options),
  }));
}
