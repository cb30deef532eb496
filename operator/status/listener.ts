/**
 * Listener status entries of a Gateway: `supportedKinds`, `attachedRoutes` and the conditions `Accepted`,
 * `Conflicted`, `ResolvedRefs` and `Programmed` (Gateway API `ListenerStatus`, `apis/v1/gateway_types.go`).
 *
 * @module
 */
import type { Condition, Gateway } from "../api_types.ts";
import type { ListenerResult } from "../listeners.ts";
import {
  listenerAccepted,
  listenerConflicted,
  listenerNoConflicts,
  listenerNotAccepted,
  listenerNotProgrammed,
  listenerProgrammed,
  listenerRefsNotResolved,
  listenerResolvedRefs,
  mergeConditions,
  type NewCondition,
} from "./conditions.ts";

/** The status of one listener. */
export interface ListenerStatus {
  /** Listener name. */
  name: string;
  /** Supported route kinds. */
  supportedKinds: { group: string; kind: string }[];
  /** Number of routes attached. */
  attachedRoutes: number;
  /** Conditions. */
  conditions: Condition[];
}

/** What the listener entries of a Gateway are computed from. */
export interface ListenerFacts {
  /** The Gateway, or the ListenerSet whose listeners these are (its generation and current listener status). */
  gateway: Pick<Gateway, "metadata" | "status">;
  /** Its validated listeners, in spec order. */
  listeners: readonly ListenerResult[];
  /** Routes attached per listener name. */
  attachedRoutes: ReadonlyMap<string, number>;
  /** The Gateway's own `Programmed` condition: a usable listener is programmed exactly when the Gateway is. */
  programmed: NewCondition;
}

/**
 * Computes one listener's conditions from what validation found.
 *
 * @example Usage
 * ```ts ignore
 * listenerConditions(validated, gatewayProgrammed(1), 1).map((c) => c.type);
 * // ["Accepted", "Conflicted", "ResolvedRefs", "Programmed"]
 * ```
 *
 * @param listener The validated listener.
 * @param programmed The Gateway's `Programmed` condition.
 * @param generation The Gateway's generation.
 * @returns The conditions.
 */
export function listenerConditions(
  listener: ListenerResult,
  programmed: NewCondition,
  generation: number | undefined,
): NewCondition[] {
  const { notAccepted, conflicted, refsNotResolved } = listener;
  // A ListenerSet's conflicted listener is not programmed for the conflict's reason (the spec's conformance tests).
  const notProgrammed = conflicted && notAccepted?.reason === conflicted.reason ? conflicted.reason : "Invalid";
  return [
    notAccepted
      ? listenerNotAccepted(notAccepted.reason, notAccepted.message, generation)
      : listenerAccepted(generation),
    conflicted
      ? listenerConflicted(conflicted.reason, conflicted.message, generation)
      : listenerNoConflicts(generation),
    refsNotResolved
      ? listenerRefsNotResolved(refsNotResolved.reason, refsNotResolved.message, generation)
      : listenerResolvedRefs(generation),
    !listener.usable
      ? listenerNotProgrammed(notProgrammed, `Listener is not programmed: ${listener.problem}`, generation)
      : programmed.status === "True"
      ? listenerProgrammed(generation)
      : listenerNotProgrammed("Pending", programmed.message, generation),
  ];
}

/**
 * Computes the listener entries of a Gateway's status, in spec order, keeping `lastTransitionTime` of
 * conditions that did not flip.
 *
 * @param facts The Gateway, its listeners, attached route counts and `Programmed` condition.
 * @param now The time for conditions that flip (RFC 3339).
 * @returns The entries.
 */
export function listenerStatuses(facts: ListenerFacts, now: string): ListenerStatus[] {
  const gen = facts.gateway.metadata.generation;
  const previous = new Map((facts.gateway.status?.listeners ?? []).map((l) => [l.name, l.conditions]));
  return facts.listeners.map((l) => ({
    name: l.listener.name,
    supportedKinds: l.supportedKinds.map((k) => ({ group: k.group, kind: k.kind })),
    attachedRoutes: facts.attachedRoutes.get(l.listener.name) ?? 0,
    conditions: mergeConditions(previous.get(l.listener.name), listenerConditions(l, facts.programmed, gen), now),
  }));
}
