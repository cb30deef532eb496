/**
 * Attachment of an HTTPRoute to a Gateway through one parentRef: sectionName and port select listeners, the
 * listeners' `allowedRoutes` (namespaces Same/All/Selector, kinds) admit the route, and the hostnames must
 * intersect (Gateway API `ParentReference`, `AllowedRoutes`, `HTTPRouteSpec.hostnames`).
 *
 * @module
 */
import { type Gateway, GATEWAY_GROUP, type HttpRoute, type LabelSelector, type ParentRef } from "./api_types.ts";
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

/**
 * Tells whether a namespace is selected by `from` (Same, All, Selector; anything else selects none), as
 * `allowedRoutes.namespaces` and `allowedListeners.namespaces` say it.
 *
 * @param from The `from` value and its selector.
 * @param owner The namespace that `Same` means.
 * @param namespace The namespace asking.
 * @param index Lookups for Namespaces (their labels).
 * @returns True when selected.
 */
export function namespaceSelected(
  from: { from: string; selector?: LabelSelector },
  owner: string,
  namespace: string,
  index: SnapshotIndex,
): boolean {
  switch (from.from) {
    case "All":
      return true;
    case "Same":
      return namespace === owner;
    case "Selector": {
      if (!from.selector) return false;
      // The apiserver labels every namespace with its name; count on it even before the Namespace is cached.
      const labels = { ...index.namespaces.get(namespace)?.metadata.labels, "kubernetes.io/metadata.name": namespace };
      return matchesSelector(from.selector, labels);
    }
    default:
      return false;
  }
}

function namespaceAllowed(listener: ListenerResult, route: HttpRoute, context: AttachContext): boolean {
  // A ListenerSet's listener: `Same` is the ListenerSet's namespace.
  const owner = listener.listenerSet?.namespace ?? context.gateway.metadata.namespace ?? "";
  return namespaceSelected(
    listener.listener.allowedRoutes.namespaces,
    owner,
    route.metadata.namespace ?? "",
    context.index,
  );
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
  // A Gateway parentRef selects the Gateway's own listeners, a ListenerSet parentRef those of that ListenerSet.
  const setKey = ref.kind === "ListenerSet" ? keyOf(ref.namespace ?? route.metadata.namespace, ref.name) : undefined;
  const candidates = context.listeners.filter((l) =>
    l.listenerSet?.key === setKey &&
    (ref.sectionName === undefined || (l.listenerSet?.name ?? l.listener.name) === ref.sectionName) &&
    (ref.port === undefined || l.listener.port === ref.port)
  );
  if (candidates.length === 0) {
    const what = [
      ref.sectionName === undefined ? "" : `sectionName "${ref.sectionName}"`,
      ref.port === undefined ? "" : `port ${ref.port}`,
    ].filter(Boolean).join(" and ");
    const message = !setKey
      ? `Gateway has no listener with ${what}`
      : what
      ? `ListenerSet has no accepted listener with ${what}`
      : "ListenerSet is not attached to its Gateway";
    return { attachments: [], rejection: { reason: "NoMatchingParent", message } };
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
        message: `No listener of the ${
          setKey ? "ListenerSet" : "Gateway"
        } allows this route (namespace "${route.metadata.namespace}", kind HTTPRoute)`,
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
 * Lists the parentRefs of a route that name one parent, in parentRef order.
 *
 * @param route The route.
 * @param parentKey The parent's `namespace/name`.
 * @param kind The parent's kind. @default {"Gateway"}
 * @returns The parentRefs (a parentRef's namespace defaults to the route's).
 */
export function parentRefsNaming(
  route: HttpRoute,
  parentKey: string,
  kind: "Gateway" | "ListenerSet" = "Gateway",
): ParentRef[] {
  const routeNs = route.metadata.namespace ?? "";
  return route.spec.parentRefs.filter((ref) =>
    ref.group === GATEWAY_GROUP && ref.kind === kind && keyOf(ref.namespace ?? routeNs, ref.name) === parentKey
  );
}
