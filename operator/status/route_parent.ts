/**
 * HTTPRoute parent status: our entries in `status.parents` for one Gateway, with `Accepted`, `ResolvedRefs` and
 * `PartiallyInvalid` (Gateway API `RouteParentStatus`, `apis/v1/shared_types.go`). We touch only entries whose
 * `controllerName` is ours, and for one Gateway at a time ({@linkcode mergeRouteParents}).
 *
 * @module
 */
import { CONTROLLER_NAME } from "../../internal/names.ts";
import { type Condition, GATEWAY_GROUP, type ParentRef } from "../api_types.ts";
import type { AttachedRoute } from "../attach_routes.ts";
import { type AttachRejection, parentRefsNaming } from "../attach.ts";
import type { RulesResult } from "../rules.ts";
import { keyOf } from "../snapshot_index.ts";
import {
  mergeConditions,
  type NewCondition,
  routeAccepted,
  routeNotAccepted,
  routePartiallyInvalid,
  routeRefsNotResolved,
  routeResolvedRefs,
} from "./conditions.ts";

/** A route's parent status entry. */
export interface RouteParentStatus {
  /** The parentRef it describes. */
  parentRef: Record<string, unknown>;
  /** Our controller name. */
  controllerName: string;
  /** Conditions. */
  conditions: Condition[];
}

/** Our parent status entries of one route for one parent (empty: remove ours for that parent). */
export interface RouteStatusResult {
  /** The route's `namespace/name`. */
  key: string;
  /** The parent these entries are about (`namespace/name`): a Gateway, or a ListenerSet with `kind`. */
  gateway: string;
  /** `ListenerSet` when the parent is one; absent for a Gateway. */
  kind?: "ListenerSet";
  /** The entries, in parentRef order. */
  parents: RouteParentStatus[];
}

/** What the conditions of one parent entry are computed from. */
export interface RouteParentFacts {
  /** The route's generation. */
  generation?: number;
  /** Why the route did not attach through this parentRef, if it did not. */
  rejection?: AttachRejection;
  /** The route's translated rules (their problems). */
  rules: RulesResult;
}

/**
 * Computes the conditions of one parent entry: `Accepted` (False when the route does not attach or no rule can
 * be served), `ResolvedRefs`, and `PartiallyInvalid` when an attached route lost some rules.
 *
 * @example Usage
 * ```ts
 * import { routeParentConditions } from "./route_parent.ts";
 * const rules = { entries: [], ruleProblems: [], allInvalid: false, incompatibleFilters: false, refProblems: [] };
 * routeParentConditions({ generation: 1, rules }).map((c) => c.reason); // ["Accepted", "ResolvedRefs"]
 * ```
 *
 * @param facts The generation, the attachment's rejection and the rules' problems.
 * @returns The conditions.
 */
export function routeParentConditions(facts: RouteParentFacts): NewCondition[] {
  const { generation: gen, rejection, rules } = facts;
  const conditions: NewCondition[] = [];
  if (rejection) conditions.push(routeNotAccepted(rejection.reason, rejection.message, gen));
  else if (rules.allInvalid) {
    const reason = rules.incompatibleFilters ? "IncompatibleFilters" : "UnsupportedValue";
    conditions.push(
      routeNotAccepted(reason, `No rule of the route can be served: ${rules.ruleProblems.join("; ")}`, gen),
    );
  } else conditions.push(routeAccepted(gen));
  if (rules.refProblems.length === 0) conditions.push(routeResolvedRefs(gen));
  else {
    const messages = [...new Set(rules.refProblems.map((p) => p.message))];
    conditions.push(routeRefsNotResolved(rules.refProblems[0].reason, messages.join("; "), gen));
  }
  if (!rejection && !rules.allInvalid && rules.ruleProblems.length > 0) {
    conditions.push(routePartiallyInvalid(rules.ruleProblems.join("; "), gen));
  }
  return conditions;
}

function parentRefOut(ref: ParentRef): Record<string, unknown> {
  return {
    group: ref.group,
    kind: ref.kind,
    ...(ref.namespace === undefined ? {} : { namespace: ref.namespace }),
    name: ref.name,
    ...(ref.sectionName === undefined ? {} : { sectionName: ref.sectionName }),
    ...(ref.port === undefined ? {} : { port: ref.port }),
  };
}

function sameParentRef(a: Record<string, unknown>, b: ParentRef, routeNs: string): boolean {
  return (a.group ?? GATEWAY_GROUP) === b.group && (a.kind ?? "Gateway") === b.kind &&
    ((a.namespace as string | undefined) ?? routeNs) === (b.namespace ?? routeNs) && a.name === b.name &&
    a.sectionName === b.sectionName && a.port === b.port;
}

/**
 * Computes our parent entries of an attached route for one parent, keeping `lastTransitionTime` of conditions that
 * did not flip in the route's current entry for the same parentRef.
 *
 * @param attached The route attached to the Gateway.
 * @param parent The parent's `namespace/name`: the Gateway, or one of its ListenerSets with `kind`.
 * @param now The time for conditions that flip (RFC 3339).
 * @param kind `ListenerSet` when the parent is one. @default {the Gateway}
 * @returns The entries, in parentRef order.
 */
export function routeParentStatus(
  attached: AttachedRoute,
  parent: string,
  now: string,
  kind?: "ListenerSet",
): RouteStatusResult {
  const { route, rules } = attached;
  const routeNs = route.metadata.namespace ?? "";
  const parents = parentRefsNaming(route, parent, kind ?? "Gateway").map((ref) => {
    const previous = route.status?.parents.find((p) =>
      p.controllerName === CONTROLLER_NAME && sameParentRef(p.parentRef, ref, routeNs)
    );
    const conditions = routeParentConditions({
      generation: route.metadata.generation,
      rejection: attached.rejections.get(ref),
      rules,
    });
    return {
      parentRef: parentRefOut(ref),
      controllerName: CONTROLLER_NAME,
      conditions: mergeConditions(previous?.conditions, conditions, now),
    };
  });
  return { key: attached.key, gateway: parent, ...(kind ? { kind } : {}), parents };
}

/**
 * Merges our new parent entries for one parent into a route's current `status.parents`: other controllers'
 * entries and our entries for other parents stay where they are; ours for this parent are replaced in place
 * (or appended).
 *
 * @example Usage
 * ```ts
 * import { mergeRouteParents } from "./route_parent.ts";
 * const other = { parentRef: { name: "gw" }, controllerName: "example.com/other" };
 * mergeRouteParents([other], { key: "ns/r", gateway: "ns/gw", parents: [] }, "ns"); // [other]
 * ```
 *
 * @param current The route's current `status.parents`.
 * @param update Our entries for one parent.
 * @param routeNamespace The route's namespace (the default of parentRef namespaces).
 * @returns The new `status.parents`.
 */
export function mergeRouteParents(
  current: readonly { parentRef: Record<string, unknown>; controllerName: string }[],
  update: RouteStatusResult,
  routeNamespace: string,
): unknown[] {
  const isOurs = (p: { parentRef: Record<string, unknown>; controllerName: string }) =>
    p.controllerName === CONTROLLER_NAME && (p.parentRef.kind ?? "Gateway") === (update.kind ?? "Gateway") &&
    keyOf((p.parentRef.namespace as string | undefined) ?? routeNamespace, String(p.parentRef.name)) === update.gateway;
  const out: unknown[] = [];
  let inserted = false;
  for (const p of current) {
    if (!isOurs(p)) {
      out.push(p);
      continue;
    }
    if (!inserted) {
      out.push(...update.parents);
      inserted = true;
    }
  }
  if (!inserted) out.push(...update.parents);
  return out;
}
