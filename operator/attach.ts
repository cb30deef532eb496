/**
 * Attachment of an HTTPRoute to a Gateway through one parentRef: sectionName and port select listeners, the
 * listeners' `allowedRoutes` (namespaces Same/All/Selector, kinds) admit the route, and the hostnames must
 * intersect (Gateway API `ParentReference`, `AllowedRoutes`, `HTTPRouteSpec.hostnames`).
 *
 * @module
 */
import { type Gateway, GATEWAY_GROUP, type HttpRoute, type ParentRef } from "./api_types.ts";
import { intersectHostnames } from "./hostnames.ts";
import { matchesSelector } from "./label_selector.ts";
import type { ListenerResult } from "./listeners.ts";
import { keyOf, type SnapshotIndex } from "./snapshot_index.ts";

/** A listener a route attached to, with the hostnames it serves there. */
export interface Attachment {
  /** The listener. */
  listener: ListenerResult;
  /** Effective hostnames (`*` for any). */
  hostnames: string[];
}

/** Why a route does not attach through a parentRef: the spec's reason for `Accepted=False`, and a message. */
export interface AttachRejection {
  /** The spec's reason. */
  reason: "NoMatchingParent" | "NotAllowedByListeners" | "NoMatchingListenerHostname" | "RoutingBudgetExceeded";
  /** What is wrong. */
  message: string;
}

/** The outcome of attaching through one parentRef. */
export interface AttachResult {
  /** The listeners the route attached to (empty when rejected). */
  attachments: Attachment[];
  /** Why it did not attach, when it did not. */
  rejection?: AttachRejection;
}

/** What {@linkcode attachRoute} attaches to. */
export interface AttachContext {
  /** The Gateway. */
  gateway: Gateway;
  /** Its validated listeners. */
  listeners: readonly ListenerResult[];
  /** Lookups for Namespaces (label selectors). */
  index: SnapshotIndex;
}

function namespaceAllowed(listener: ListenerResult, route: HttpRoute, context: AttachContext): boolean {
  const { gateway, index } = context;
  const routeNs = route.metadata.namespace ?? "";
  const ns = listener.listener.allowedRoutes.namespaces;
  switch (ns.from) {
    case "All":
      return true;
    case "Same":
      return routeNs === gateway.metadata.namespace;
    case "Selector": {
      if (!ns.selector) return false;
      // The apiserver labels every namespace with its name; count on it even before the Namespace is cached.
      const labels = { ...index.namespaces.get(routeNs)?.metadata.labels, "kubernetes.io/metadata.name": routeNs };
      return matchesSelector(ns.selector, labels);
    }
    default:
      return false;
  }
}

/**
 * Attaches a route to a Gateway through one of its parentRefs.
 *
 * @param route The route.
 * @param ref The parentRef (already known to name this Gateway).
 * @param context The Gateway, its validated listeners, and the snapshot index.
 * @returns Where the route attached, or why it did not.
 */
export function attachRoute(
  route: HttpRoute,
  ref: ParentRef,
  context: AttachContext,
): AttachResult {
  const candidates = context.listeners.filter((l) =>
    (ref.sectionName === undefined || l.listener.name === ref.sectionName) &&
    (ref.port === undefined || l.listener.port === ref.port)
  );
  if (candidates.length === 0) {
    const what = [
      ref.sectionName === undefined ? "" : `sectionName "${ref.sectionName}"`,
      ref.port === undefined ? "" : `port ${ref.port}`,
    ].filter(Boolean).join(" and ");
    return {
      attachments: [],
      rejection: { reason: "NoMatchingParent", message: `Gateway has no listener with ${what}` },
    };
  }
  const allowed = candidates.filter((l) =>
    l.attachable && l.supportedKinds.some((k) => k.kind === "HTTPRoute") &&
    namespaceAllowed(l, route, context)
  );
  if (allowed.length === 0) {
    return {
      attachments: [],
      rejection: {
        reason: "NotAllowedByListeners",
        message:
          `No listener of the Gateway allows this route (namespace "${route.metadata.namespace}", kind HTTPRoute)`,
      },
    };
  }
  const attachments: Attachment[] = [];
  for (const listener of allowed) {
    const hostnames = intersectHostnames(listener.listener.hostname, route.spec.hostnames);
    if (hostnames.length > 0) attachments.push({ listener, hostnames });
  }
  if (attachments.length === 0) {
    return {
      attachments,
      rejection: {
        reason: "NoMatchingListenerHostname",
        message: "No hostname of the route matches the hostname of an allowing listener",
      },
    };
  }
  return { attachments };
}

/**
 * Lists the parentRefs of a route that name one Gateway, in parentRef order.
 *
 * @param route The route.
 * @param gatewayKey The Gateway's `namespace/name`.
 * @returns The parentRefs (a parentRef's namespace defaults to the route's).
 */
export function parentRefsNaming(route: HttpRoute, gatewayKey: string): ParentRef[] {
  const routeNs = route.metadata.namespace ?? "";
  return route.spec.parentRefs.filter((ref) =>
    ref.group === GATEWAY_GROUP && ref.kind === "Gateway" && keyOf(ref.namespace ?? routeNs, ref.name) === gatewayKey
  );
}
