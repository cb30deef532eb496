/**
 * What a Gateway's translation read besides the Gateway itself, as dependency keys, so the shell can enqueue
 * exactly the Gateways an object change affects (STYLE.md convention 11).
 *
 * Keys: `Service:<ns>/<name>`, `Secret:<ns>/<name>`, `ConfigMap:<ns>/<name>`, `GatewayParameters:<ns>/<name>`,
 * `GrantNamespace:<ns>` (a cross-namespace reference into `<ns>`, which a ReferenceGrant there may allow) and
 * `NamespaceLabels` (a listener selects route namespaces by label).
 *
 * @module
 */
import { CONTROLLER_NAME, LACQUER_GROUP } from "../internal/names.ts";
import { GATEWAY_PARAMETERS_KIND } from "./gateway_parameters.ts";
import type { Snapshot } from "./snapshot.ts";
import { keyOf, routeGatewayKeys } from "./snapshot_index.ts";

/**
 * Lists the dependency keys of one Gateway.
 *
 * @example Usage
 * ```ts
 * import { gatewayDependencies } from "./dependencies.ts";
 * import { emptySnapshot } from "./snapshot.ts";
 * gatewayDependencies(emptySnapshot(), "default/gw"); // []
 * ```
 *
 * @param snapshot The snapshot the Gateway was translated from.
 * @param gatewayKey The Gateway's `namespace/name`.
 * @returns The keys, deduplicated and sorted.
 */
export function gatewayDependencies(snapshot: Snapshot, gatewayKey: string): string[] {
  const deps = new Set<string>();
  const gateway = snapshot.gateways.find((g) => keyOf(g.metadata.namespace, g.metadata.name) === gatewayKey);
  if (!gateway) return [];
  const ns = gateway.metadata.namespace ?? "";
  const cls = snapshot.gatewayClasses.find((c) => c.metadata.name === gateway.spec.gatewayClassName);
  const paramKeys: string[] = [];
  const classRef = cls?.spec.parametersRef;
  if (classRef?.group === LACQUER_GROUP && classRef.kind === GATEWAY_PARAMETERS_KIND && classRef.namespace) {
    paramKeys.push(keyOf(classRef.namespace, classRef.name));
  }
  const ownRef = gateway.spec.infrastructure?.parametersRef;
  if (ownRef?.group === LACQUER_GROUP && ownRef.kind === GATEWAY_PARAMETERS_KIND) {
    paramKeys.push(keyOf(ns, ownRef.name));
  }
  for (const key of paramKeys) {
    deps.add(`GatewayParameters:${key}`);
    const params = snapshot.gatewayParameters.find((p) => keyOf(p.metadata.namespace, p.metadata.name) === key);
    const vcl = params?.spec.vcl?.configMapRef;
    if (vcl) deps.add(`ConfigMap:${keyOf(params!.metadata.namespace, vcl.name)}`);
  }
  for (const listener of gateway.spec.listeners) {
    if (listener.allowedRoutes.namespaces.from === "Selector") deps.add("NamespaceLabels");
    for (const ref of listener.tls?.certificateRefs ?? []) {
      const secretNs = ref.namespace ?? ns;
      deps.add(`Secret:${keyOf(secretNs, ref.name)}`);
      if (secretNs !== ns) deps.add(`GrantNamespace:${secretNs}`);
    }
  }
  for (const route of snapshot.httpRoutes) {
    if (!routeGatewayKeys(route, CONTROLLER_NAME).includes(gatewayKey)) continue;
    const routeNs = route.metadata.namespace ?? "";
    for (const rule of route.spec.rules) {
      for (const ref of rule.backendRefs) {
        const backendNs = ref.namespace ?? routeNs;
        if (ref.group === "" && ref.kind === "Service") deps.add(`Service:${keyOf(backendNs, ref.name)}`);
        if (backendNs !== routeNs) deps.add(`GrantNamespace:${backendNs}`);
      }
    }
  }
  return [...deps].sort();
}
