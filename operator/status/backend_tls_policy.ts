/**
 * BackendTLSPolicy status: `status.ancestors[]` (Gateway API `PolicyStatus`), one entry per Gateway whose routes
 * send traffic to a Service port the policy targets, with `Accepted` (Accepted, Conflicted, Invalid,
 * NoValidCACertificate) and `ResolvedRefs` (ResolvedRefs, InvalidCACertificateRef, InvalidKind).
 *
 * Each Gateway's translation computes its own entry in every policy (the ancestor is that Gateway), so a policy's
 * status is written by the reconciles of the Gateways that use it, each touching only its entry; a Gateway that no
 * longer uses a policy, or is gone, removes its entry.
 *
 * @module
 */
import { CONTROLLER_NAME } from "../../internal/names.ts";
import { type BackendTlsPolicy, GATEWAY_GROUP, type HttpRoute, type PolicyAncestor } from "../api_types.ts";
import { backendTlsConflict, backendTlsPoliciesAt, validateBackendTls } from "../backend_tls.ts";
import { keyOf, type SnapshotIndex } from "../snapshot_index.ts";
import { backendTlsPolicyAccepted, backendTlsPolicyResolvedRefs, mergeConditions } from "./conditions.ts";

/** The most ancestors the CRD's status holds. */
const MAX_ANCESTORS = 16;

/** One Gateway's entry in one BackendTLSPolicy's `status.ancestors`. */
export interface BackendTlsAncestorUpdate {
  /** The policy's `namespace/name`. */
  key: string;
  /** The Gateway's `namespace/name`. */
  gateway: string;
  /** The entry; undefined removes the Gateway's entry of our controller. */
  ancestor?: PolicyAncestor;
}

function gatewayRef(gateway: string): Record<string, unknown> {
  const [namespace, name] = gateway.split("/");
  return { group: GATEWAY_GROUP, kind: "Gateway", namespace, name };
}

/** Tells whether an ancestor entry is ours for a Gateway. */
function isEntryOf(entry: PolicyAncestor, gateway: string, policyNs: string): boolean {
  const ref = entry.ancestorRef as { group?: string; kind?: string; namespace?: string; name?: string };
  return entry.controllerName === CONTROLLER_NAME && (ref.group ?? GATEWAY_GROUP) === GATEWAY_GROUP &&
    (ref.kind ?? "Gateway") === "Gateway" && keyOf(ref.namespace ?? policyNs, ref.name ?? "") === gateway;
}

function policyKey(policy: BackendTlsPolicy): string {
  return keyOf(policy.metadata.namespace, policy.metadata.name);
}

/**
 * Lists the BackendTLSPolicies a Gateway's routes reach: those that apply to, or lost to an older one, a Service
 * port one of their backendRefs or mirrors names.
 */
function reachedPolicies(routes: readonly HttpRoute[], index: SnapshotIndex): Set<BackendTlsPolicy> {
  const reached = new Set<BackendTlsPolicy>();
  for (const route of routes) {
    const routeNs = route.metadata.namespace ?? "";
    for (const rule of route.spec.rules) {
      const mirrors = rule.filters.flatMap((f) => f.requestMirror ? [f.requestMirror.backendRef] : []);
      for (const ref of [...rule.backendRefs, ...mirrors]) {
        if (ref.group !== "" || ref.kind !== "Service" || ref.port === undefined) continue;
        for (const p of backendTlsPoliciesAt(index, ref.namespace ?? routeNs, ref.name, ref.port)) reached.add(p);
      }
    }
  }
  return reached;
}

/**
 * Computes one policy's entry for a Gateway: its conditions merged into the current ones (`lastTransitionTime` kept
 * unless the status flips).
 */
function ancestorEntry(policy: BackendTlsPolicy, gateway: string, index: SnapshotIndex, now: string): PolicyAncestor {
  const gen = policy.metadata.generation;
  const verdict = validateBackendTls(policy, index);
  const conflict = backendTlsConflict(policy, index);
  const accepted = conflict
    ? backendTlsPolicyAccepted(
      { status: "False", reason: "Conflicted" },
      `The older BackendTLSPolicy "${conflict}" targets the same Service ports`,
      gen,
    )
    : backendTlsPolicyAccepted(verdict.accepted, verdict.accepted.message, gen);
  const resolved = backendTlsPolicyResolvedRefs(verdict.resolvedRefs, verdict.resolvedRefs.message, gen);
  const previous = (policy.status?.ancestors ?? []).find((a) => isEntryOf(a, gateway, policy.metadata.namespace ?? ""));
  return {
    ancestorRef: gatewayRef(gateway),
    controllerName: CONTROLLER_NAME,
    conditions: mergeConditions(previous?.conditions, [accepted, resolved], now),
  };
}

/**
 * Computes a Gateway's entries in the BackendTLSPolicies: one for each policy its routes reach, and a removal for
 * each other policy that still has an entry of ours for it.
 *
 * @example Usage
 * ```ts
 * import { backendTlsAncestors } from "./backend_tls_policy.ts";
 * import { indexSnapshot } from "../snapshot_index.ts";
 * import { emptySnapshot } from "../snapshot.ts";
 * const index = indexSnapshot(emptySnapshot(), "lacquer.dev/gateway-controller");
 * backendTlsAncestors("shop/gw", { routes: [], policies: [], index, now: "2026-01-01T00:00:00Z" }); // []
 * ```
 *
 * @param gateway The Gateway's `namespace/name`.
 * @param facts Its attached routes (none when it is gone), every policy, lookups and the clock.
 * @returns The updates, sorted by policy.
 */
export function backendTlsAncestors(
  gateway: string,
  facts: {
    routes: readonly HttpRoute[];
    policies: readonly BackendTlsPolicy[];
    index: SnapshotIndex;
    now: string;
  },
): BackendTlsAncestorUpdate[] {
  // Without policies there is nothing to report, and walking every route of a large Gateway would cost each change.
  if (facts.policies.length === 0) return [];
  const reached = reachedPolicies(facts.routes, facts.index);
  const updates: BackendTlsAncestorUpdate[] = [];
  for (const policy of facts.policies) {
    const key = policyKey(policy);
    const existing = policy.status?.ancestors ?? [];
    const has = existing.some((a) => isEntryOf(a, gateway, policy.metadata.namespace ?? ""));
    if (reached.has(policy)) {
      updates.push({ key, gateway, ancestor: ancestorEntry(policy, gateway, facts.index, facts.now) });
    } else if (has) updates.push({ key, gateway });
  }
  return updates.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * Merges one Gateway's entry into a policy's `status.ancestors`: the other entries stay in their order, ours for that
 * Gateway is replaced (or removed, or added at the end while there is room).
 *
 * @example Usage
 * ```ts
 * import { mergeBackendTlsAncestor } from "./backend_tls_policy.ts";
 * mergeBackendTlsAncestor([], { key: "shop/p", gateway: "shop/gw" }, "shop"); // []
 * ```
 *
 * @param current The policy's current entries.
 * @param update The Gateway's entry or its removal.
 * @param policyNamespace The policy's namespace (an ancestorRef without namespace is in it).
 * @returns The new entries.
 */
export function mergeBackendTlsAncestor(
  current: readonly PolicyAncestor[],
  update: BackendTlsAncestorUpdate,
  policyNamespace: string,
): PolicyAncestor[] {
  const index = current.findIndex((a) => isEntryOf(a, update.gateway, policyNamespace));
  if (!update.ancestor) return current.filter((_, i) => i !== index);
  if (index >= 0) return current.map((a, i) => (i === index ? update.ancestor! : a));
  return current.length < MAX_ANCESTORS ? [...current, update.ancestor] : [...current];
}
