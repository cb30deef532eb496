/**
 * Which CachePolicy applies where: conflicts between policies on one target (the older wins, then the lower
 * `namespace/name`; the other is Conflicted there) and precedence between levels for one rule (a named rule, then its
 * route, then the listener it is served on, then the Gateway). The winning policy applies whole: fields are never
 * merged across levels.
 *
 * @module
 */
import type { CachePolicy, PolicyTarget } from "./cache_policy_schema.ts";
import { type RoutingCache, type ValidatedPolicy, validatePolicy } from "./validate_policy.ts";

/** What happened to one target of a policy. */
export interface TargetOutcome {
  /** The target. */
  target: PolicyTarget;
  /** The `namespace/name` of the older policy that holds this target, when this policy lost it. */
  conflictedBy?: string;
}

/** One policy, validated, with the outcome of each of its targets. */
export interface PolicyOutcome {
  /** The policy. */
  policy: CachePolicy;
  /** Its validation. */
  validated: ValidatedPolicy;
  /** Its targets (none resolved against the cluster yet: existence is for status to check). */
  targets: TargetOutcome[];
}

/** The result of {@linkcode resolvePolicies}. */
export interface PolicyResolution {
  /** Every policy by `namespace/name`, sorted by key. */
  policies: Map<string, PolicyOutcome>;
  /**
   * Returns the `namespace/name` of the most specific policy that holds one of the targets of a rule served on a
   * listener of a Gateway, or undefined (the rule passes). Its settings are `policies.get(key).validated.cache`.
   */
  cacheFor(
    gateway: { namespace: string; name: string },
    listener: string,
    rule: { namespace: string; name: string; ruleName?: string },
  ): string | undefined;
  /** The settings of a policy that {@linkcode PolicyResolution.cacheFor} returned. */
  settingsOf(key: string): RoutingCache;
}

/** Holders of one kind of target: namespace → name → sectionName (`""` for the whole object) → policy key. */
type TargetTable = Map<string, Map<string, Map<string, string>>>;

function sectionsOf(table: TargetTable, namespace: string, name: string): Map<string, string> {
  let names = table.get(namespace);
  if (!names) table.set(namespace, names = new Map());
  let sections = names.get(name);
  if (!sections) names.set(name, sections = new Map());
  return sections;
}

function policyKey(policy: CachePolicy): string {
  return `${policy.metadata.namespace ?? ""}/${policy.metadata.name}`;
}

/**
 * Resolves conflicts among policies and answers, per rule, which one applies.
 *
 * @example Usage
 * ```ts
 * import { resolvePolicies } from "./resolve_policies.ts";
 * const resolution = resolvePolicies([]);
 * resolution.cacheFor({ namespace: "shop", name: "gw" }, "http", { namespace: "shop", name: "r" }); // undefined
 * ```
 *
 * @param policies Every CachePolicy (any namespaces, any order).
 * @param memo Validations of earlier calls, by policy object; kept and reused. @default {a fresh one}
 * @returns The resolution.
 */
export function resolvePolicies(
  policies: readonly CachePolicy[],
  memo: WeakMap<CachePolicy, ValidatedPolicy> = new WeakMap(),
): PolicyResolution {
  const keyed = policies.map((p) => ({ p, order: `${p.metadata.creationTimestamp ?? ""}\u0000${policyKey(p)}` }))
    .sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
  // Lookups without building strings: cacheFor runs for every rule entry of every translation.
  // Ingress targets only meet each other here (conflicts): expandIngresses turns them into the Ingress's routes.
  const tables: Record<PolicyTarget["kind"], TargetTable> = {
    Gateway: new Map(),
    HTTPRoute: new Map(),
    Ingress: new Map(),
  };
  const outcomes = new Map<string, PolicyOutcome>();
  for (const { p } of keyed) {
    const key = policyKey(p);
    let validated = memo.get(p);
    if (!validated) memo.set(p, validated = validatePolicy(p));
    const targets: TargetOutcome[] = validated.targets.map((target) => {
      if (!validated.valid) return { target };
      const sections = sectionsOf(tables[target.kind], p.metadata.namespace ?? "", target.name);
      const holder = sections.get(target.sectionName ?? "");
      if (holder) return { target, conflictedBy: holder };
      sections.set(target.sectionName ?? "", key);
      return { target };
    });
    outcomes.set(key, { policy: p, validated, targets });
  }
  const sorted = new Map([...outcomes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return {
    policies: sorted,
    cacheFor(gateway, listener, rule) {
      const route = tables.HTTPRoute.get(rule.namespace)?.get(rule.name);
      const byRoute = route && ((rule.ruleName === undefined ? undefined : route.get(rule.ruleName)) ?? route.get(""));
      if (byRoute) return byRoute;
      const gw = tables.Gateway.get(gateway.namespace)?.get(gateway.name);
      return gw && (gw.get(listener) ?? gw.get(""));
    },
    settingsOf(key) {
      const validated = sorted.get(key)?.validated;
      if (!validated?.valid) throw new Error(`The cache policy "${key}" holds no target`);
      return validated.cache;
    },
  };
}
