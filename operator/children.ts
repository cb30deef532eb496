/**
 * The child objects of a Gateway (DESIGN.md "Names"): ConfigMap `<gw>-lacquer` (main.vcl, routing.json), Secret
 * `<gw>-lacquer-tls` (the certificates of its HTTPS listeners, when it has some),
 * ServiceAccount `<gw>-lacquer`, Role and RoleBinding `<gw>-lacquer` with exactly what the chaperone needs,
 * Deployment and Service `<gw>`.
 *
 * Children in the Gateway's namespace carry an owner reference to it, so the garbage collector removes them with
 * the Gateway. The chaperone also reads EndpointSlices and Services of backends in other namespaces; those
 * namespaces get their own Role and RoleBinding (`lacquer-gw-<namespace>-<gw>`), labelled with the Gateway, which
 * the reconciler prunes by label because owner references cannot cross namespaces.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import {
  CHAPERONE_ADMIN_PORT,
  GATEWAY_NAME_LABEL,
  gatewayChildName,
  INFRA_HASH_ANNOTATION,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  tlsSecretName,
} from "../internal/names.ts";
import { contentHash } from "../internal/content_hash.ts";
import { routingConfigMapData } from "../internal/routing_config_map.ts";
import { type Gateway, GATEWAY_GROUP } from "./api_types.ts";
import type { ResolvedParameters } from "./gateway_parameters.ts";
import type { ListenerResult } from "./listeners.ts";

/** Label naming the namespace of the Gateway a child object belongs to (for children outside that namespace). */
export const GATEWAY_NAMESPACE_LABEL = "lacquer.dev/gateway-namespace";

/** ConfigMap annotation with the hash of its routing.json (`sha256:<hex>`, of the uncompressed text). */
export const ROUTING_HASH_ANNOTATION = "lacquer.dev/routing-hash";

/** ConfigMap annotation with the hash of its main.vcl (`sha256:<hex>`). */
export const VCL_HASH_ANNOTATION = "lacquer.dev/vcl-hash";

/** The container name of the gateway in the Deployment. */
export const GATEWAY_CONTAINER = "gateway";

/** A Kubernetes object to apply. */
export interface ChildObject {
  /** API version. */
  apiVersion: string;
  /** Kind. */
  kind: string;
  /** Metadata. */
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: unknown[];
  };
  [field: string]: unknown;
}

/** What {@linkcode buildChildren} needs. */
export interface ChildrenInput {
  /** The Gateway. */
  gateway: Gateway;
  /** Its validated listeners (usable ones get ports). */
  listeners: ListenerResult[];
  /** Its effective parameters. */
  parameters: ResolvedParameters;
  /** routing.json text. */
  routingJson: string;
  /** main.vcl text. */
  mainVcl: string;
  /** Hashes of routing.json and main.vcl, when already computed. */
  hashes?: { routing: string; vcl: string };
  /** Namespaces other than the Gateway's whose Services and EndpointSlices routing.json references. */
  backendNamespaces: string[];
  /** The TLS Secret's data as text (`buildTlsBundles`); needed when an HTTPS listener is served. @default {{}} */
  tlsBundles?: Record<string, string>;
}

function sortedKeys<T>(obj: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.keys(obj).sort().map((k) => [k, obj[k]]));
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_, v) => (v && typeof v === "object" && !Array.isArray(v) ? sortedKeys(v) : v));
}

/**
 * Builds every child object of a Gateway, in a fixed order: ServiceAccount, Role, RoleBinding, ConfigMap, the
 * TLS Secret, Service, Deployment, then the Roles and RoleBindings in backend namespaces.
 *
 * @example Usage
 * ```ts ignore
 * import { buildChildren } from "./children.ts";
 * const objects = buildChildren({ gateway, listeners, parameters, routingJson, mainVcl, backendNamespaces: [] });
 * ```
 *
 * @param input The Gateway and what was computed for it.
 * @returns The objects to apply.
 */
export function buildChildren(input: ChildrenInput): ChildObject[] {
  const { gateway, parameters } = input;
  const ns = gateway.metadata.namespace ?? "";
  const name = gateway.metadata.name;
  const child = gatewayChildName(name);
  const infraLabels = gateway.spec.infrastructure?.labels ?? {};
  const infraAnnotations = gateway.spec.infrastructure?.annotations ?? {};
  const selector = { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [GATEWAY_NAME_LABEL]: name };
  const labels = sortedKeys({ ...infraLabels, ...selector, [GATEWAY_NAMESPACE_LABEL]: ns });
  const owner = [{
    apiVersion: `${GATEWAY_GROUP}/v1`,
    kind: "Gateway",
    name,
    uid: gateway.metadata.uid ?? "",
    controller: true,
    blockOwnerDeletion: true,
  }];
  const meta = (objectName: string, extra: { annotations?: Record<string, string> } = {}) => ({
    name: objectName,
    namespace: ns,
    labels,
    ...(Object.keys({ ...infraAnnotations, ...extra.annotations }).length > 0
      ? { annotations: sortedKeys({ ...infraAnnotations, ...extra.annotations }) }
      : {}),
    ownerReferences: owner,
  });

  const ports = [...new Map(input.listeners.filter((l) => l.usable).map((l) => [l.listener.port, l])).values()]
    .sort((a, b) => a.listener.port - b.listener.port);

  const routingHash = input.hashes?.routing ?? contentHash(input.routingJson);
  const vclHash = input.hashes?.vcl ?? contentHash(input.mainVcl);
  const configMap: ChildObject = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: meta(child, { annotations: { [ROUTING_HASH_ANNOTATION]: routingHash, [VCL_HASH_ANNOTATION]: vclHash } }),
    ...routingConfigMapData(input.routingJson, input.mainVcl),
  };

  const tlsPorts = ports.filter((l) => l.listener.protocol === "HTTPS");
  const plainPorts = ports.filter((l) => l.listener.protocol !== "HTTPS");
  const tlsName = tlsSecretName(name);
  const tlsData = input.tlsBundles ?? {};
  // A kubernetes.io/tls Secret (tls.crt and tls.key are the default certificate), so that the operator's cache of
  // TLS Secrets also holds this child: a no-op reconcile then skips it, and it is pruned like the others.
  const tlsSecret: ChildObject | undefined = tlsPorts.length > 0 && tlsData["tls.crt"] !== undefined
    ? {
      apiVersion: "v1",
      kind: "Secret",
      metadata: meta(tlsName),
      type: "kubernetes.io/tls",
      data: Object.fromEntries(Object.entries(tlsData).map(([k, v]) => [k, Buffer.from(v).toString("base64")])),
    }
    : undefined;

  const serviceAccount: ChildObject = { apiVersion: "v1", kind: "ServiceAccount", metadata: meta(child) };
  const localRules = [
    { apiGroups: [""], resources: ["configmaps"], resourceNames: [child], verbs: ["get", "list", "watch"] },
    ...(tlsPorts.length > 0
      ? [{ apiGroups: [""], resources: ["secrets"], resourceNames: [tlsName], verbs: ["get", "list", "watch"] }]
      : []),
    { apiGroups: [""], resources: ["pods"], verbs: ["get", "patch"] },
    { apiGroups: [""], resources: ["services"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] },
  ];
  const role: ChildObject = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: meta(child),
    rules: localRules,
  };
  const binding = (roleName: string, metadata: ChildObject["metadata"]): ChildObject => ({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata,
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: roleName },
    subjects: [{ kind: "ServiceAccount", name: child, namespace: ns }],
  });

  const service: ChildObject = {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      ...meta(name),
      labels: sortedKeys({ ...parameters.serviceLabels, ...labels }),
      ...(Object.keys({ ...infraAnnotations, ...parameters.serviceAnnotations }).length > 0
        ? { annotations: sortedKeys({ ...infraAnnotations, ...parameters.serviceAnnotations }) }
        : {}),
    },
    spec: {
      type: parameters.serviceType,
      selector,
      ports: ports.map((l) => ({
        name: l.socket,
        port: l.listener.port,
        targetPort: l.listener.port,
        protocol: "TCP",
      })),
    },
  };

  const drainToken = contentHash(`drain:${gateway.metadata.uid ?? ""}:${ns}/${name}`).slice(7, 39);
  const env: ({ name: string; value: string } | { name: string; valueFrom: unknown })[] = [
    { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
    { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
    { name: "LACQUER_CONFIGMAP", value: child },
    { name: "LACQUER_LISTEN", value: plainPorts.map((l) => `${l.socket}=:${l.listener.port}`).join(" ") },
    ...(tlsPorts.length > 0
      ? [
        { name: "LACQUER_TLS_LISTEN", value: tlsPorts.map((l) => `${l.socket}=:${l.listener.port}`).join(" ") },
        { name: "LACQUER_TLS_SECRET", value: tlsName },
      ]
      : []),
    { name: "LACQUER_STORAGE", value: parameters.storage },
    { name: "LACQUER_DRAIN_TOKEN", value: drainToken },
  ];
  const own = new Set(env.map((e) => e.name));
  env.push(...parameters.env.filter((e) => !own.has(e.name)));
  const container = {
    name: GATEWAY_CONTAINER,
    image: parameters.image,
    imagePullPolicy: parameters.imagePullPolicy,
    args: [
      "--log-level",
      parameters.logLevel,
      "chaperone",
      ...parameters.varnishdArgs.map((a) => `--varnishd-arg=${a}`),
    ],
    env,
    ports: [
      ...ports.map((l) => ({ name: l.socket, containerPort: l.listener.port, protocol: "TCP" })),
      { name: "admin", containerPort: CHAPERONE_ADMIN_PORT, protocol: "TCP" },
    ],
    readinessProbe: {
      httpGet: { path: "/readyz", port: CHAPERONE_ADMIN_PORT },
      periodSeconds: 2,
      failureThreshold: 2,
    },
    livenessProbe: {
      httpGet: { path: "/healthz", port: CHAPERONE_ADMIN_PORT },
      periodSeconds: 10,
      failureThreshold: 3,
    },
    lifecycle: {
      preStop: {
        httpGet: {
          path: "/drain",
          port: CHAPERONE_ADMIN_PORT,
          httpHeaders: [{ name: "Authorization", value: `Bearer ${drainToken}` }],
        },
      },
    },
    ...(Object.keys(parameters.resources).length > 0 ? { resources: parameters.resources } : {}),
    volumeMounts: [{ name: "run", mountPath: "/var/run/lacquer" }],
  };
  const template = {
    metadata: {
      labels,
      ...(Object.keys(infraAnnotations).length > 0 ? { annotations: sortedKeys(infraAnnotations) } : {}),
    },
    spec: {
      serviceAccountName: child,
      terminationGracePeriodSeconds: 60,
      containers: [container],
      volumes: [{ name: "run", emptyDir: {} }],
    },
  };
  // The hash covers the whole pod template, which holds infrastructure only (never routes or VCL), so it changes
  // exactly when the pods must be replaced.
  const infraHash = contentHash(canonical(template)).slice(7, 23);
  const deployment: ChildObject = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: meta(name),
    spec: {
      selector: { matchLabels: selector },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        ...template,
        metadata: {
          ...template.metadata,
          annotations: sortedKeys({ ...template.metadata.annotations, [INFRA_HASH_ANNOTATION]: infraHash }),
        },
      },
    },
  };

  const remote: ChildObject[] = [];
  for (const backendNs of [...new Set(input.backendNamespaces)].filter((n) => n !== ns).sort()) {
    const remoteName = `lacquer-gw-${ns}-${name}`.slice(0, 253);
    const remoteMeta = {
      name: remoteName,
      namespace: backendNs,
      labels,
    };
    remote.push({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: remoteMeta,
      rules: localRules.filter((r) => r.resources[0] === "services" || r.resources[0] === "endpointslices"),
    });
    remote.push(binding(remoteName, remoteMeta));
  }
  // A Service needs at least one port: a Gateway with no listener to serve gets none (and loses an old one).
  const services = ports.length > 0 ? [service] : [];
  return [
    serviceAccount,
    role,
    binding(child, meta(child)),
    configMap,
    ...(tlsSecret ? [tlsSecret] : []),
    ...services,
    deployment,
    ...remote,
  ];
}
