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
   * Returns the cache of a rule served on a listener of a Gateway, from the most specific policy that holds one of
   * its targets, or undefined (the rule passes).
   */
  cacheFor(
    gateway: { namespace: string; name: string },
    listener: string,
    rule: { namespace: string; name: string; ruleName?: string },
  ): RoutingCache | undefined;
}

/**
 * Builds the key of a target in a namespace.
 *
 * @param namespace The policy's namespace.
 * @param target The target.
 * @returns `Kind:namespace/name` with `#sectionName` when it has one.
 */
export function targetKey(namespace: string, target: Omit<PolicyTarget, "group">): string {
  return `${target.kind}:${namespace}/${target.name}${
    target.sectionName === undefined ? "" : `#${target.sectionName}`
  }`;
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
  const holders = new Map<string, { key: string; cache: RoutingCache }>();
  const outcomes = new Map<string, PolicyOutcome>();
  for (const { p } of keyed) {
    const key = policyKey(p);
    let validated = memo.get(p);
    if (!validated) memo.set(p, validated = validatePolicy(p));
    const targets: TargetOutcome[] = validated.targets.map((target) => {
      if (!validated.valid) return { target };
      const tk = targetKey(p.metadata.namespace ?? "", target);
      const holder = holders.get(tk);
      if (holder) return { target, conflictedBy: holder.key };
      holders.set(tk, { key, cache: validated.cache });
      return { target };
    });
    outcomes.set(key, { policy: p, validated, targets });
  }
  const sorted = new Map([...outcomes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return {
    policies: sorted,
    cacheFor(gateway, listener, rule) {
      if (holders.size === 0) return undefined;
      const candidates = [
        ...(rule.ruleName === undefined
          ? []
          : [targetKey(rule.namespace, { kind: "HTTPRoute", name: rule.name, sectionName: rule.ruleName })]),
        targetKey(rule.namespace, { kind: "HTTPRoute", name: rule.name }),
        targetKey(gateway.namespace, { kind: "Gateway", name: gateway.name, sectionName: listener }),
        targetKey(gateway.namespace, { kind: "Gateway", name: gateway.name }),
      ];
      for (const candidate of candidates) {
        const holder = holders.get(candidate);
        if (holder) return holder.cache;
      }
      return undefined;
    },
  };
}
