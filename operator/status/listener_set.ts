/**
 * ListenerSet status: `Accepted` and `Programmed`, and an entry per listener with `supportedKinds`, `attachedRoutes`
 * and the listener conditions of a Gateway's (Gateway API `ListenerSetStatus`, `apis/v1/listenerset_types.go`).
 *
 * @module
 */
import type { Condition } from "../api_types.ts";
import type { ListenerSetResult } from "../listener_sets.ts";
import {
  listenerSetAccepted,
  listenerSetProgrammed,
  ListenerSetReason,
  mergeConditions,
  type NewCondition,
} from "./conditions.ts";
import { type ListenerStatus, listenerStatuses } from "./listener.ts";

/** The computed status of a ListenerSet. */
export interface ListenerSetStatus {
  /** Conditions. */
  conditions: Condition[];
  /** Per-listener status, in spec order, under their declared names. */
  listeners: ListenerStatus[];
}

/** A ListenerSet's status, with the object it is for. */
export interface ListenerSetStatusResult {
  /** `namespace/name`. */
  key: string;
  /** Namespace. */
  namespace: string;
  /** Name. */
  name: string;
  /** Its status. */
  status: ListenerSetStatus;
}

/** What a ListenerSet's status is computed from. */
export interface ListenerSetFacts {
  /** The ListenerSet as merged into its Gateway (no listeners when its Gateway is missing). */
  result: ListenerSetResult;
  /** The parent Gateway's `Accepted` condition (absent: the Gateway does not exist). */
  parentAccepted?: NewCondition;
  /** The parent Gateway's `Programmed` condition. */
  parentProgrammed?: NewCondition;
  /** Routes attached per (merged) listener name. */
  attachedRoutes: ReadonlyMap<string, number>;
}

/**
 * Computes a ListenerSet's `Accepted` and `Programmed` conditions.
 *
 * @example Usage
 * ```ts ignore
 * listenerSetConditions(facts).map((c) => c.reason); // ["NotAllowed", "NotAllowed"]
 * ```
 *
 * @param facts The merge outcome and the parent Gateway's conditions.
 * @returns The conditions.
 */
export function listenerSetConditions(facts: ListenerSetFacts): NewCondition[] {
  const { result, parentAccepted, parentProgrammed } = facts;
  const gen = result.listenerSet.metadata.generation;
  const both = (reason: keyof typeof ListenerSetReason, message: string) => [
    listenerSetAccepted("False", reason, message, gen),
    listenerSetProgrammed("False", reason === "ParentNotAccepted" ? "ParentNotProgrammed" : reason, message, gen),
  ];
  const parent = result.listenerSet.spec.parentRef;
  if (!parentAccepted) {
    return both(
      "ParentNotAccepted",
      `Gateway "${parent.namespace ?? result.listenerSet.metadata.namespace}/${parent.name}" not found`,
    );
  }
  if (result.rejection?.reason === "NotAllowed") return both("NotAllowed", result.rejection.message);
  if (parentAccepted.status !== "True") {
    return both("ParentNotAccepted", `The parent Gateway is not accepted: ${parentAccepted.message}`);
  }
  if (result.rejection) return both(result.rejection.reason, result.rejection.message);
  const invalid = result.listeners.filter((l) => !l.usable).map((l) => `"${l.listenerSet?.name}"`);
  const accepted = invalid.length === 0
    ? listenerSetAccepted("True", "Accepted", "ListenerSet is accepted", gen)
    : listenerSetAccepted("True", "ListenersNotValid", `Listeners ${invalid.join(", ")} are not valid`, gen);
  const programmed = parentProgrammed?.status === "True"
    ? listenerSetProgrammed("True", "Programmed", "ListenerSet is programmed", gen)
    : listenerSetProgrammed(
      "False",
      "ParentNotProgrammed",
      `The parent Gateway is not programmed: ${parentProgrammed?.message ?? ""}`,
      gen,
    );
  return [accepted, programmed];
}

/**
 * Computes a ListenerSet's whole status, keeping `lastTransitionTime` of conditions that did not flip.
 *
 * @param facts The merge outcome, the parent's conditions and the attached route counts.
 * @param now The time for conditions that flip (RFC 3339).
 * @returns The status and the object it is for.
 */
export function listenerSetStatus(facts: ListenerSetFacts, now: string): ListenerSetStatusResult {
  const { listenerSet, key } = facts.result;
  const programmed = facts.parentProgrammed ?? listenerSetProgrammed("False", "ParentNotProgrammed", "", undefined);
  // Listener entries carry the declared names; the attached routes are counted under the merged ones.
  const declared = facts.result.listeners.map((l) => ({
    ...l,
    listener: { ...l.listener, name: l.listenerSet?.name ?? l.listener.name },
  }));
  const attachedRoutes = new Map(
    facts.result.listeners.map((l) => [l.listenerSet?.name ?? "", facts.attachedRoutes.get(l.listener.name) ?? 0]),
  );
  return {
    key,
    namespace: listenerSet.metadata.namespace ?? "",
    name: listenerSet.metadata.name,
    status: {
      conditions: mergeConditions(listenerSet.status?.conditions, listenerSetConditions(facts), now),
      listeners: listenerStatuses({ gateway: listenerSet, listeners: declared, attachedRoutes, programmed }, now),
    },
  };
}
