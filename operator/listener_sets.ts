/**
 * Translation stage "merge ListenerSets": the listeners of the ListenerSets a Gateway allows
 * (`spec.allowedListeners`, namespaces None/Same/All/Selector) join the Gateway's own, in the spec's precedence
 * (Gateway API `ListenerSetSpec.listeners`, GEP-1713): the Gateway's listeners first, then each ListenerSet by
 * creation time, then `namespace/name`, each in its spec order. A ListenerSet's listener that conflicts with one of
 * higher precedence is not accepted (the Gateway's own listeners never lose to a ListenerSet); a ListenerSet none of
 * whose listeners can be served is not attached. `status/listener_set.ts` turns the results into status.
 *
 * @module
 */
import type { Gateway, Listener, ListenerSet } from "./api_types.ts";
import { namespaceSelected } from "./attach.ts";
import { type ListenerOwner, type ListenerResult, mergedListenerName, validateListener } from "./listeners.ts";
import { keyOf, type SnapshotIndex } from "./snapshot_index.ts";

/** Why a ListenerSet is not attached to its Gateway: the spec's reason for `Accepted=False`, and a message. */
export interface ListenerSetRejection {
  /** The spec's reason (`ListenerSetConditionReason`). */
  reason: "NotAllowed" | "ListenersNotValid" | "ParentNotAccepted";
  /** What is wrong. */
  message: string;
}

/** One ListenerSet as merged into its Gateway. */
export interface ListenerSetResult {
  /** `namespace/name`. */
  key: string;
  /** The ListenerSet. */
  listenerSet: ListenerSet;
  /** Its validated listeners, in spec order (none when it is not allowed or its Gateway is missing). */
  listeners: ListenerResult[];
  /** Why it is not attached, when it is not. */
  rejection?: ListenerSetRejection;
}

/** A Gateway's listeners with those of its ListenerSets. */
export interface MergedListeners {
  /** The Gateway's own listeners, then those of the attached ListenerSets, in precedence order. */
  listeners: ListenerResult[];
  /** Every ListenerSet whose parentRef names the Gateway, in precedence order. */
  listenerSets: ListenerSetResult[];
}

/** Sorts ListenerSets by creation time, then `namespace/name` (the spec's precedence). */
function byPrecedence(sets: readonly ListenerSet[]): ListenerSet[] {
  const sortKey = (ls: ListenerSet) =>
    `${ls.metadata.creationTimestamp ?? ""}\u0000${keyOf(ls.metadata.namespace, ls.metadata.name)}`;
  return [...sets].sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0));
}

function notAllowed(gateway: Gateway, listenerSet: ListenerSet, index: SnapshotIndex): string | undefined {
  const allowed = gateway.spec.allowedListeners?.namespaces ?? { from: "None" };
  const ns = listenerSet.metadata.namespace ?? "";
  if (namespaceSelected(allowed, gateway.metadata.namespace ?? "", ns, index)) return undefined;
  return allowed.from === "None" || gateway.spec.allowedListeners === undefined
    ? `Gateway "${keyOf(gateway.metadata.namespace, gateway.metadata.name)}" allows no ListenerSet`
    : `Gateway "${keyOf(gateway.metadata.namespace, gateway.metadata.name)}" does not allow ListenerSets ` +
      `of namespace "${ns}" (allowedListeners.namespaces.from: ${allowed.from})`;
}

/** A ListenerSet's listener as the Gateway holds it: its merged name, certificateRefs in the ListenerSet's namespace. */
function asGatewayListener(key: string, namespace: string, listener: Listener): Listener {
  const tls = listener.tls && {
    ...listener.tls,
    certificateRefs: listener.tls.certificateRefs.map((ref) => ({ ...ref, namespace: ref.namespace ?? namespace })),
  };
  return { ...listener, name: mergedListenerName(key, listener.name), ...(tls ? { tls } : {}) };
}

/**
 * Merges the ListenerSets whose parentRef names a Gateway into its listeners.
 *
 * @example Usage
 * ```ts
 * import { mergeListenerSets } from "./listener_sets.ts";
 * import { validateListeners } from "./listeners.ts";
 * import { indexSnapshot } from "./snapshot_index.ts";
 * import { emptySnapshot } from "./snapshot.ts";
 * import { gatewaySchema } from "./api_types.ts";
 * const index = indexSnapshot(emptySnapshot(), "lacquer.dev/gateway-controller");
 * const gw = gatewaySchema.parse({
 *   metadata: { name: "gw", namespace: "default" },
 *   spec: { gatewayClassName: "lacquer", listeners: [{ name: "http", port: 80, protocol: "HTTP" }] },
 * });
 * const merged = mergeListenerSets(gw, validateListeners(gw, index), [], index);
 * // merged.listeners.length === 1
 * ```
 *
 * @param gateway The Gateway.
 * @param own Its own validated listeners.
 * @param listenerSets The ListenerSets whose parentRef names it, in any order.
 * @param index Lookups for Namespaces, Secrets and ReferenceGrants.
 * @returns The merged listeners and each ListenerSet's outcome.
 */
export function mergeListenerSets(
  gateway: Gateway,
  own: readonly ListenerResult[],
  listenerSets: readonly ListenerSet[],
  index: SnapshotIndex,
): MergedListeners {
  const listeners = [...own];
  // The listeners of higher precedence that a later one must not conflict with: all of the Gateway's own, and the
  // accepted ones of the ListenerSets attached before.
  const taken: Listener[] = gateway.spec.listeners.slice();
  const results: ListenerSetResult[] = [];
  for (const listenerSet of byPrecedence(listenerSets)) {
    const namespace = listenerSet.metadata.namespace ?? "";
    const key = keyOf(namespace, listenerSet.metadata.name);
    const refused = notAllowed(gateway, listenerSet, index);
    if (refused) {
      results.push({ key, listenerSet, listeners: [], rejection: { reason: "NotAllowed", message: refused } });
      continue;
    }
    const owner: ListenerOwner = { kind: "ListenerSet", namespace };
    const mine: ListenerResult[] = [];
    const accepted: Listener[] = [];
    for (const declared of listenerSet.spec.listeners) {
      const listener = asGatewayListener(key, namespace, declared);
      const result = validateListener(listener, gateway, owner, index, [...taken, ...accepted]);
      mine.push({ ...result, listenerSet: { key, namespace, name: declared.name } });
      if (result.attachable) accepted.push(listener);
    }
    // Attached only with a listener it can serve (not merely one routes may attach to, like one without its
    // certificate).
    if (!mine.some((l) => l.usable)) {
      const rejection: ListenerSetRejection = { reason: "ListenersNotValid", message: "No listener is valid" };
      results.push({ key, listenerSet, listeners: mine, rejection });
      continue;
    }
    taken.push(...accepted);
    listeners.push(...mine);
    results.push({ key, listenerSet, listeners: mine });
  }
  return { listeners, listenerSets: results };
}
