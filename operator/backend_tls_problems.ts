/**
 * What is wrong with the BackendTLSPolicies the Gateways use, from the `status.ancestors` entries their reconciles
 * compute: each policy's problem (the reason and message of its `Accepted=False`, else of its `ResolvedRefs=False`),
 * reported once per change, however many reconciles compute it again, and counted by reason for a metric whose series
 * are fixed. Pure.
 *
 * @module
 */
import type { PolicyAncestor } from "./api_types.ts";
import type { BackendTlsAncestorUpdate } from "./status/backend_tls_policy.ts";

/** Every reason a BackendTLSPolicy's problem can have: `Accepted=False`'s, then `ResolvedRefs=False`'s. */
export const BACKEND_TLS_PROBLEM_REASONS = [
  "Conflicted",
  "Invalid",
  "NoValidCACertificate",
  "InvalidCACertificateRef",
  "InvalidKind",
] as const;

/** A reason of {@linkcode BACKEND_TLS_PROBLEM_REASONS}. */
export type BackendTlsProblemReason = typeof BACKEND_TLS_PROBLEM_REASONS[number];

/** What is wrong with a BackendTLSPolicy. */
export interface BackendTlsProblem {
  /** The condition's reason. */
  reason: BackendTlsProblemReason;
  /** False when the policy is not accepted (its ports answer 500, or another policy applies: `Conflicted`). */
  accepted: boolean;
  /** The condition's message. */
  message: string;
}

/** A change of a policy's problem, as {@linkcode BackendTlsProblems.record} reports it. */
export interface BackendTlsProblemChange {
  /** The policy's `namespace/name`. */
  policy: string;
  /** The Gateway whose reconcile saw the change. */
  gateway: string;
  /** The problem now; undefined when it is gone. */
  problem?: BackendTlsProblem;
}

/**
 * Returns the problem an ancestor entry reports: its `Accepted=False`, else its `ResolvedRefs=False`.
 *
 * @example Usage
 * ```ts
 * import { backendTlsProblem } from "./backend_tls_problems.ts";
 * backendTlsProblem({
 *   ancestorRef: {},
 *   controllerName: "lacquer.dev/gateway-controller",
 *   conditions: [{ type: "Accepted", status: "False", reason: "Invalid", message: "set caCertificateRefs" }],
 * });
 * // { reason: "Invalid", accepted: false, message: "set caCertificateRefs" }
 * ```
 *
 * @param ancestor The entry.
 * @returns The problem; undefined when both conditions are True.
 */
export function backendTlsProblem(ancestor: PolicyAncestor): BackendTlsProblem | undefined {
  for (const type of ["Accepted", "ResolvedRefs"]) {
    const condition = ancestor.conditions.find((c) => c.type === type && c.status === "False");
    const reason = BACKEND_TLS_PROBLEM_REASONS.find((r) => r === condition?.reason);
    if (condition && reason) return { reason, accepted: type !== "Accepted", message: condition.message };
  }
  return undefined;
}

function same(a: BackendTlsProblem | undefined, b: BackendTlsProblem | undefined): boolean {
  return a?.reason === b?.reason && a?.message === b?.message;
}

/** The problems of the BackendTLSPolicies some Gateway uses, by policy. */
export class BackendTlsProblems {
  #policies = new Map<string, { problem?: BackendTlsProblem; gateways: Set<string> }>();

  /**
   * Records one Gateway's entry in one policy (or its removal, when the Gateway no longer uses the policy).
   *
   * @param update The entry, as the Gateway's translation computed it.
   * @returns The change of the policy's problem; undefined when it is the one last recorded (whichever Gateway's), or
   *   when the policy is used by no Gateway any more.
   */
  record(update: BackendTlsAncestorUpdate): BackendTlsProblemChange | undefined {
    const entry = this.#policies.get(update.key);
    if (!update.ancestor) {
      entry?.gateways.delete(update.gateway);
      if (entry?.gateways.size === 0) this.#policies.delete(update.key);
      return undefined;
    }
    const problem = backendTlsProblem(update.ancestor);
    if (!entry) {
      this.#policies.set(update.key, { problem, gateways: new Set([update.gateway]) });
      return problem ? { policy: update.key, gateway: update.gateway, problem } : undefined;
    }
    entry.gateways.add(update.gateway);
    if (same(entry.problem, problem)) return undefined;
    entry.problem = problem;
    return { policy: update.key, gateway: update.gateway, ...(problem ? { problem } : {}) };
  }

  /**
   * Forgets a policy (it is deleted).
   *
   * @param policy Its `namespace/name`.
   */
  forget(policy: string): void {
    this.#policies.delete(policy);
  }

  /**
   * Counts the policies in use by the reason of their problem.
   *
   * @param exists Tells whether a policy still exists (a reconcile that read it before it was deleted may record it
   *   after {@linkcode BackendTlsProblems.forget}). @default {every policy recorded exists}
   * @returns A count for every reason of {@linkcode BACKEND_TLS_PROBLEM_REASONS}, zero included.
   */
  counts(exists: (policy: string) => boolean = () => true): Record<BackendTlsProblemReason, number> {
    const counts = Object.fromEntries(BACKEND_TLS_PROBLEM_REASONS.map((r) => [r, 0])) as Record<
      BackendTlsProblemReason,
      number
    >;
    for (const [policy, { problem }] of this.#policies) if (problem && exists(policy)) counts[problem.reason]++;
    return counts;
  }
}
