/**
 * Validation of one CachePolicy and its conversion into the `cache` object of routing.json route entries. A policy
 * is either valid as a whole, and then converted whole, or invalid with every problem listed: never applied half-way.
 *
 * @module
 */
import type { z } from "zod";
import type { RoutingRoute } from "../../ghost/contract/mod.ts";
import { checkRegex } from "../regex_check.ts";
import { type CachePolicy, cachePolicySpecSchema, type PolicyTarget } from "./cache_policy_schema.ts";
import { durationSeconds } from "./duration.ts";

/** The `cache` object of a routing.json route entry, every default filled in. */
export type RoutingCache = NonNullable<RoutingRoute["cache"]>;

/** The outcome of {@linkcode validatePolicy}. */
export type ValidatedPolicy =
  | {
    /** The policy is valid. */
    valid: true;
    /** Its targets, deduplicated, in spec order. */
    targets: PolicyTarget[];
    /** The route entries' `cache` object. */
    cache: RoutingCache;
  }
  | {
    /** The policy is invalid. */
    valid: false;
    /** Its well-formed targets, for status (ancestors), in spec order. */
    targets: PolicyTarget[];
    /** What is wrong, one text per problem, naming the field. */
    problems: string[];
  };

const MAX_SECONDS = 2_147_483_647;
const DEFAULT_TTL = { default: 120, grace: 10, keep: 0 };

function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
    const message = issue.code === "unrecognized_keys"
      ? `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`
      : issue.message;
    return `spec${path}: ${message}`;
  });
}

function wellFormedTargets(spec: Record<string, unknown>): PolicyTarget[] {
  const refs = Array.isArray(spec.targetRefs) ? spec.targetRefs : [];
  return refs.filter((r): r is PolicyTarget =>
    r !== null && typeof r === "object" && (r.kind === "Gateway" || r.kind === "HTTPRoute") &&
    typeof r.name === "string" && r.name !== "" &&
    (r.sectionName === undefined || typeof r.sectionName === "string")
  ).map((r) => ({
    group: "gateway.networking.k8s.io",
    kind: r.kind,
    name: r.name,
    ...(r.sectionName === undefined ? {} : { sectionName: r.sectionName }),
  }));
}

function sameTarget(a: PolicyTarget, b: PolicyTarget): boolean {
  return a.kind === b.kind && a.name === b.name && a.sectionName === b.sectionName;
}

function dedupe(targets: PolicyTarget[]): PolicyTarget[] {
  return targets.filter((t, i) => targets.findIndex((u) => sameTarget(t, u)) === i);
}

const cache = new WeakMap<CachePolicy, ValidatedPolicy>();

/**
 * Validates a CachePolicy and converts it into the routing.json `cache` object: durations become whole seconds,
 * every default is filled in, header names are lowercased and lists sorted and deduplicated (so equal policies give
 * equal bytes). Results are cached per policy object.
 *
 * @example Usage
 * ```ts
 * import { validatePolicy } from "./validate_policy.ts";
 * import { cachePolicySchema } from "./cache_policy_schema.ts";
 * const policy = cachePolicySchema.parse({
 *   metadata: { name: "p", namespace: "shop" },
 *   spec: { targetRefs: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", name: "r" }], ttl: { grace: "1m" } },
 * });
 * const result = validatePolicy(policy);
 * // result.valid === true, and result.cache.ttl.grace === 60
 * ```
 *
 * @param policy The policy.
 * @returns The targets and the cache object, or the problems.
 */
export function validatePolicy(policy: CachePolicy): ValidatedPolicy {
  let result = cache.get(policy);
  if (!result) {
    result = compute(policy);
    cache.set(policy, result);
  }
  return result;
}

function compute(policy: CachePolicy): ValidatedPolicy {
  const parsed = cachePolicySpecSchema.safeParse(policy.spec);
  if (!parsed.success) {
    return { valid: false, targets: dedupe(wellFormedTargets(policy.spec)), problems: describeIssues(parsed.error) };
  }
  const spec = parsed.data;
  const problems: string[] = [];
  const targets = spec.targetRefs;
  if (dedupe(targets).length !== targets.length) problems.push("spec.targetRefs: must not name one target twice");

  const seconds = (field: keyof NonNullable<typeof spec.ttl>): number | undefined => {
    const text = spec.ttl?.[field];
    if (text === undefined) return undefined;
    const value = durationSeconds(text);
    if (typeof value === "string") problems.push(`spec.ttl.${field}: ${value}`);
    else if (value > MAX_SECONDS) problems.push(`spec.ttl.${field}: must be at most ${MAX_SECONDS}s, not ${text}`);
    else return value;
    return undefined;
  };
  const ttl = {
    default: seconds("default") ?? DEFAULT_TTL.default,
    forced: seconds("forced"),
    grace: seconds("grace") ?? DEFAULT_TTL.grace,
    keep: seconds("keep") ?? DEFAULT_TTL.keep,
  };

  const mode = spec.key?.query?.mode ?? "All";
  const params = [...new Set(spec.key?.query?.params ?? [])].sort();
  if (params.length > 0 && mode !== "Include" && mode !== "Exclude") {
    problems.push(`spec.key.query.params: only allowed with mode Include or Exclude, not ${mode}`);
  }

  const bypass: RoutingCache["bypass"] = [];
  (spec.bypass ?? []).forEach((b, i) => {
    if ((b.header === undefined) === (b.cookie === undefined)) {
      problems.push(`spec.bypass[${i}]: must name exactly one of header or cookie`);
      return;
    }
    if (b.cookie) {
      bypass.push({ type: "Cookie", name: b.cookie.name });
      return;
    }
    const header = b.header!;
    if (header.valueRegex !== undefined) {
      const problem = checkRegex(header.valueRegex);
      if (problem) {
        problems.push(`spec.bypass[${i}].header.valueRegex: "${header.valueRegex}" is invalid: ${problem}`);
        return;
      }
    }
    bypass.push({
      type: "Header",
      name: header.name,
      ...(header.valueRegex === undefined ? {} : { valueRegex: header.valueRegex }),
    });
  });
  if (problems.length > 0) return { valid: false, targets: dedupe(targets), problems };

  const allow = spec.allow ?? {};
  return {
    valid: true,
    targets,
    cache: {
      policy: { namespace: policy.metadata.namespace ?? "", name: policy.metadata.name },
      ttl: {
        default: ttl.default,
        ...(ttl.forced === undefined ? {} : { forced: ttl.forced }),
        grace: ttl.grace,
        keep: ttl.keep,
      },
      allow: {
        noStore: allow.noStore ?? false,
        private: allow.private ?? false,
        setCookie: allow.setCookie ?? false,
        authorization: allow.authorization ?? false,
        otherCookies: allow.otherCookies ?? false,
      },
      key: {
        query: { mode, params },
        headers: [...new Set((spec.key?.headers ?? []).map((h) => h.toLowerCase()))].sort(),
        cookies: [...new Set(spec.key?.cookies ?? [])].sort(),
      },
      bypass,
      surrogateKeys: { header: spec.surrogateKeys?.header ?? "Surrogate-Key" },
      debugHeaders: spec.debugHeaders ?? false,
    },
  };
}
