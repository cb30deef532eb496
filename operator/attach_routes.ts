/**
 * Translation stage "attach routes": every HTTPRoute that names a Gateway, in precedence order, with its
 * translated rules (`rules.ts`) and, per parentRef naming the Gateway, where it attached or why not
 * (`attach.ts`). The results are memoised per route and Gateway (`translation_memo.ts`).
 *
 * @module
 */
import type { Gateway, HttpRoute, ParentRef } from "./api_types.ts";
import { type AttachRejection, attachRoute, parentRefsNaming } from "./attach.ts";
import type { ListenerResult } from "./listeners.ts";
import { type RulesResult, translateRules } from "./rules.ts";
import { keyOf, type SnapshotIndex } from "./snapshot_index.ts";
import { routeIdentity, type TranslationMemo } from "./translation_memo.ts";

/** A route as attached to one Gateway. */
export interface AttachedRoute {
  /** The route. */
  route: HttpRoute;
  /** Its `namespace/name`. */
  key: string;
  /** Its translated rules. */
  rules: RulesResult;
  /** Its parentRefs that name the Gateway or one of the Gateway's ListenerSets, in parentRef order. */
  parentRefs: ParentRef[];
  /**
   * Why the route did not attach through one of `parentRefs`, by parentRef; empty
   * when it attached through every one (most routes: they then share one empty map).
   */
  rejections: ReadonlyMap<ParentRef, AttachRejection>;
  /** The listeners it serves on, with its hostnames there (none when rejected or when no rule is valid). */
  attachments: { listener: string; hostnames: string[] }[];
}

/** The Gateway routes attach to, and what attaching reads. */
export interface AttachRoutesContext {
  /** The Gateway's `namespace/name`. */
  key: string;
  /** The Gateway. */
  gateway: Gateway;
  /** Its validated listeners, with those of the ListenerSets attached to it. */
  listeners: readonly ListenerResult[];
  /** The keys of every ListenerSet whose parentRef names the Gateway (attached or not). @default {none} */
  listenerSets?: readonly string[];
  /** Lookups for Services, ReferenceGrants and Namespaces. */
  index: SnapshotIndex;
  /** The translation memo. */
  memo: TranslationMemo;
}

/** Sorts routes by creation time, then `namespace/name` (the precedence tie-breakers), computing keys once. */
function sortRoutes(routes: readonly HttpRoute[]): HttpRoute[] {
  const keyed = routes.map((r) => ({ r, k: routeIdentity(r) }));
  keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  return keyed.map((x) => x.r);
}

const NO_REJECTIONS: ReadonlyMap<ParentRef, AttachRejection> = new Map();

function computeAttachment(route: HttpRoute, rules: RulesResult, context: AttachRoutesContext): AttachedRoute {
  let rejections: Map<ParentRef, AttachRejection> | undefined;
  const attachments: AttachedRoute["attachments"] = [];
  const parentRefs = route.spec.parentRefs.filter((ref) =>
    parentRefsNaming(route, context.key).includes(ref) ||
    (context.listenerSets ?? []).some((key) => parentRefsNaming(route, key, "ListenerSet").includes(ref))
  );
  for (const ref of parentRefs) {
    const attach = attachRoute(route, ref, context);
    if (attach.rejection) (rejections ??= new Map()).set(ref, attach.rejection);
    if (attach.rejection || rules.allInvalid) continue;
    for (const a of attach.attachments) {
      attachments.push({ listener: a.listener.listener.name, hostnames: a.hostnames });
    }
  }
  const key = keyOf(route.metadata.namespace, route.metadata.name);
  return { route, key, rules, parentRefs, rejections: rejections ?? NO_REJECTIONS, attachments };
}

/**
 * Attaches one route to a Gateway, reusing the memo's attachment while what it was computed from is unchanged.
 *
 * @param route The route.
 * @param context The Gateway, its listeners, lookups and the memo.
 * @param listeners {@linkcode attachmentListeners} of the context.
 * @returns The attached route.
 */
export function attachToGateway(route: HttpRoute, context: AttachRoutesContext, listeners: string): AttachedRoute {
  const { memo, index, gateway } = context;
  const rules = translateRules(route, context);
  const namespace = index.namespaces.get(route.metadata.namespace ?? "");
  const identity = routeIdentity(route);
  const cached = memo.attachments.get(route.spec);
  // The Gateway by its spec and key: writing its status makes a new object, not a new attachment.
  if (
    cached?.identity === identity && cached.gateway === gateway.spec && cached.gatewayKey === context.key &&
    cached.listeners === listeners && cached.rules === rules && cached.namespace === namespace
  ) return cached.result;
  const result = computeAttachment(route, rules, context);
  const entry = { identity, gateway: gateway.spec, gatewayKey: context.key, listeners, rules, namespace, result };
  memo.attachments.set(route.spec, entry);
  return result;
}

/**
 * Attaches routes to a Gateway.
 *
 * @param routes The routes whose parentRefs (or our status entries) name the Gateway.
 * @param context The Gateway, its listeners, lookups and the memo.
 * @returns The attached routes in precedence order (oldest first, then by `namespace/name`).
 */
export function attachRoutes(routes: readonly HttpRoute[], context: AttachRoutesContext): AttachedRoute[] {
  const listeners = attachmentListeners(context);
  return sortRoutes(routes).map((route) => attachToGateway(route, context, listeners));
}

/**
 * Everything about the listeners that attachment reads, as text: a memoised attachment is reused only when it matches.
 *
 * @param context The Gateway's listeners and the keys of its ListenerSets.
 * @returns The text.
 */
export function attachmentListeners(context: Pick<AttachRoutesContext, "listeners" | "listenerSets">): string {
  return JSON.stringify([
    context.listeners.map((l) => [l.listener, l.attachable, l.supportedKinds, l.listenerSet]),
    context.listenerSets ?? [],
  ]);
}

/**
 * Counts the routes attached to each listener (for `status.listeners[].attachedRoutes`), including listeners
 * that are not served because of their certificates.
 *
 * @param routes The attached routes.
 * @returns Route counts by listener name (listeners without routes are absent).
 */
export function attachedRouteCounts(routes: readonly AttachedRoute[]): Map<string, number> {
  const routesOf = new Map<string, Set<string>>();
  for (const { key, attachments } of routes) {
    for (const { listener } of attachments) {
      let set = routesOf.get(listener);
      if (!set) routesOf.set(listener, set = new Set());
      set.add(key);
    }
  }
  return new Map([...routesOf].map(([listener, set]) => [listener, set.size]));
}
