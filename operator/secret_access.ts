/**
 * Which namespaces the operator needs Secrets from for one Gateway, when it holds no standing right to read Secrets
 * (the chart's default, cluster-wide install): RBAC cannot narrow a read right by label or by a name not known in
 * advance, so instead of a ClusterRole that reads every Secret of the cluster, the operator holds `bind` on a
 * ClusterRole of Secret rights and binds it to itself, with a RoleBinding that is a child of the Gateway
 * (`operatorSecretBindings` in `children.ts`), in exactly these namespaces:
 *
 * - the Gateway's own (its TLS and admin token Secrets, and certificateRefs there);
 * - the namespace of each ListenerSet the Gateway admits, for the certificateRefs into its own namespace;
 * - another namespace a certificateRef, a CA certificate reference or the backend client certificate names, only
 *   when a ReferenceGrant there permits it (an Ingress's TLS counts as the grant its expansion makes);
 * - the namespace of a BackendTLSPolicy of one of its backends whose `caCertificateRefs` name a Secret: the policy's
 *   references are local, so its author, who may read that namespace's Secrets, is the one who asks.
 *
 * A reference into a namespace that permits none is never read: it reads as missing. Pure.
 *
 * @module
 */
import { CONTROLLER_NAME } from "../internal/names.ts";
import { GATEWAY_GROUP } from "./api_types.ts";
import { namespaceSelected } from "./attach.ts";
import { backendTlsCaDependencies } from "./dependencies.ts";
import { expandIngresses } from "./ingress/mod.ts";
import type { Snapshot } from "./snapshot.ts";
import { indexSnapshot, keyOf, listenerSetParentKey, referenceAllowed } from "./snapshot_index.ts";

/** Options for {@linkcode secretNamespaces}. */
export interface SecretNamespacesOptions {
  /**
   * The Gateway's dependency keys (`gatewayDependencies`): the BackendTLSPolicies of its backends (`BackendTLS:`
   * keys) may name Secrets. @default {none}
   */
  dependencies?: readonly string[];
}

/**
 * Lists the namespaces whose Secrets the operator needs for a Gateway.
 *
 * @example Usage
 * ```ts
 * import { secretNamespaces } from "./secret_access.ts";
 * import { emptySnapshot } from "./snapshot.ts";
 * secretNamespaces(emptySnapshot(), "web/gw"); // ["web"]
 * ```
 *
 * @param read The snapshot the Gateway is translated from.
 * @param gatewayKey The Gateway's `namespace/name`.
 * @param options The Gateway's dependency keys.
 * @returns The namespaces, the Gateway's own first, then the others sorted.
 */
export function secretNamespaces(read: Snapshot, gatewayKey: string, options: SecretNamespacesOptions = {}): string[] {
  const own = gatewayKey.split("/")[0];
  const snapshot = expandIngresses(read).snapshot;
  const gateway = snapshot.gateways.find((g) => keyOf(g.metadata.namespace, g.metadata.name) === gatewayKey);
  if (!gateway) return [own];
  // Namespaces and ReferenceGrants are what is read of it: its routes (tens of thousands on a large Gateway) are not
  // indexed
  const index = indexSnapshot({ ...snapshot, httpRoutes: [] }, CONTROLLER_NAME);
  const allowedListeners = gateway.spec.allowedListeners?.namespaces ?? { from: "None" };
  const owners = [
    { kind: "Gateway", namespace: own, listeners: gateway.spec.listeners },
    ...snapshot.listenerSets
      .filter((ls) => listenerSetParentKey(ls) === gatewayKey)
      .filter((ls) => namespaceSelected(allowedListeners, own, ls.metadata.namespace ?? "", index))
      .map((ls) => ({ kind: "ListenerSet", namespace: ls.metadata.namespace ?? "", listeners: ls.spec.listeners })),
  ];
  const refs: { kind: string; from: string; namespace: string; name: string }[] = [];
  for (const { kind, namespace, listeners } of owners) {
    for (const listener of listeners) {
      for (const ref of listener.tls?.certificateRefs ?? []) {
        if (ref.group === "" && ref.kind === "Secret") {
          refs.push({ kind, from: namespace, namespace: ref.namespace ?? namespace, name: ref.name });
        }
      }
    }
  }
  const frontend = gateway.spec.tls?.frontend;
  const validations = [frontend?.default.validation, ...(frontend?.perPort ?? []).map((p) => p.tls.validation)];
  const clientCertificate = gateway.spec.tls?.backend?.clientCertificateRef;
  for (
    const ref of [
      ...validations.flatMap((v) => v?.caCertificateRefs ?? []),
      ...(clientCertificate ? [clientCertificate] : []),
    ]
  ) {
    if (ref.group === "" && ref.kind === "Secret") {
      refs.push({ kind: "Gateway", from: own, namespace: ref.namespace ?? own, name: ref.name });
    }
  }
  const others = new Set<string>();
  for (const ref of refs) {
    const allowed = referenceAllowed(
      index,
      { group: GATEWAY_GROUP, kind: ref.kind, namespace: ref.from },
      { group: "", kind: "Secret", namespace: ref.namespace, name: ref.name },
    );
    if (allowed && ref.namespace !== own) others.add(ref.namespace);
  }
  for (const dep of backendTlsCaDependencies(snapshot.backendTlsPolicies, new Set(options.dependencies ?? []))) {
    const namespace = dep.startsWith("Secret:") ? dep.slice(7).split("/")[0] : own;
    if (namespace !== own) others.add(namespace);
  }
  return [own, ...[...others].sort()];
}
