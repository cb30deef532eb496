/**
 * The child objects of a Gateway, named after it: ConfigMap `<gw>-lacquer` (main.vcl, routing.json), Secret
 * `<gw>-lacquer-tls` (the certificates of its HTTPS listeners and its backend client certificate, when it has some),
 * Secret `<gw>-lacquer-admin` (the admin token, `admin_token.ts`: created once with a random value by the writer,
 * never rewritten),
 * ServiceAccount `<gw>-lacquer`, Role and RoleBinding `<gw>-lacquer` with exactly what the chaperone needs,
 * Deployment, Service, NetworkPolicy and PodDisruptionBudget `<gw>`.
 *
 * Children in the Gateway's namespace carry an owner reference to it, so the garbage collector removes them with
 * the Gateway. The chaperone also reads EndpointSlices and Services of backends in other namespaces; those
 * namespaces get their own Role and RoleBinding (`lacquer-gw-<namespace>.<gw>`), labelled with the Gateway, which
 * the reconciler prunes by label because owner references cannot cross namespaces.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import {
  ADMIN_TOKEN_DIR,
  BACKEND_CLIENT_CERTIFICATE_KEYS,
  boundedName,
  CHAPERONE_ADMIN_PORT,
  GATEWAY_NAME_ANNOTATION,
  GATEWAY_NAME_LABEL,
  gatewayChildName,
  gatewayLabelValue,
  gatewayObjectName,
  GHOST_PEER_PORT,
  GHOST_PEER_SOCKET_NAME,
  INFRA_HASH_ANNOTATION,
  KEEPER_DIR,
  KEEPER_PROGRAM,
  KEEPER_SOCKET,
  LACQUER_UID,
  LB_IPS_ANNOTATION,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  ROUTING_SHARDS_OF_LABEL,
  routingShardsLabelValue,
  tlsSecretName,
  VARNISHD_INSTANCE_DIR,
} from "../internal/names.ts";
import { contentHash } from "../internal/content_hash.ts";
import {
  type RoutingConfigMapData,
  routingConfigMapData,
  routingJsonData,
  shardedConfigMapData,
} from "../internal/routing_config_map.ts";
import type { RoutingShard, ShardedRouting } from "../ghost/contract/mod.ts";
import { requestedAddresses } from "./addresses.ts";
import { adminTokenSecretName } from "./admin_token.ts";
import { type Gateway, GATEWAY_GROUP } from "./api_types.ts";
import type { ResolvedParameters } from "./gateway_parameters.ts";
import type { ListenerResult } from "./listeners.ts";

/** Label naming the namespace of the Gateway a child object belongs to (for children outside that namespace). */
export const GATEWAY_NAMESPACE_LABEL = "lacquer.dev/gateway-namespace";

/** ConfigMap annotation with the hash of its routing.json (`sha256:<hex>`, of the uncompressed text). */
export const ROUTING_HASH_ANNOTATION = "lacquer.dev/routing-hash";

/** ConfigMap annotation with the hash of its main.vcl (`sha256:<hex>`). */
export const VCL_HASH_ANNOTATION = "lacquer.dev/vcl-hash";

/**
 * Namespace label that lets pods of that namespace reach the gateways' admin port (`/healthz`, `/readyz`,
 * `/metrics`, `/drain`, `/invalidate`); the Helm chart's namespace (and deploy/operator) carries it, monitoring
 * namespaces add it.
 */
export const GATEWAY_ADMIN_ACCESS_LABEL = "lacquer.dev/gateway-admin";

/** The container name of the gateway in the Deployment. */
export const GATEWAY_CONTAINER = "gateway";

/** The name of the socket keeper's sidecar in a gateway pod. */
export const KEEPER_CONTAINER = "socket-keeper";

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
  /** routing.json as stored in shards, when it is large: the ConfigMap then carries the manifest. */
  routingShards?: ShardedRouting;
  /**
   * The data of a shard's ConfigMap ({@linkcode routingJsonData} of its text), when kept from an earlier translation:
   * gzip of megabytes of unchanged shards is most of a large Gateway's regeneration. @default {computed}
   */
  shardData?: (shard: RoutingShard) => RoutingConfigMapData;
  /** main.vcl text. */
  mainVcl: string;
  /** Hashes of routing.json and main.vcl, when already computed. */
  hashes?: { routing: string; vcl: string };
  /** Namespaces other than the Gateway's whose Services and EndpointSlices routing.json references. */
  backendNamespaces: string[];
  /** The TLS Secret's data as text (`buildTlsBundles`); needed when an HTTPS listener is served. @default {{}} */
  tlsBundles?: Record<string, string>;
  /** The ClusterRole the gateway's pod RoleBinding grants. @default {GATEWAY_POD_CLUSTER_ROLE's name} */
  podClusterRole?: string;
  /**
   * The image of the socket keeper's sidecar: the operator's gateway image (`--gateway-image`), whatever image the
   * GatewayParameters name, since a custom image need not carry the keeper. @default {the gateway container's image}
   */
  keeperImage?: string;
}

function sortedKeys<T>(obj: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.keys(obj).sort().map((k) => [k, obj[k]]));
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_, v) => (v && typeof v === "object" && !Array.isArray(v) ? sortedKeys(v) : v));
}

/** What every child of one Gateway shares: names, labels, ports and the metadata builder. */
interface Family {
  gateway: Gateway;
  ns: string;
  name: string;
  /** `<gw>` (`gatewayObjectName`): Deployment, Service, NetworkPolicy, PodDisruptionBudget. */
  object: string;
  /** `<gw>-lacquer`: ConfigMap, ServiceAccount, Role and RoleBinding. */
  child: string;
  /** `<gw>-lacquer-tls`. */
  tlsName: string;
  /** `<gw>-lacquer-admin`. */
  adminName: string;
  labels: Record<string, string>;
  /** The pod selector. */
  selector: Record<string, string>;
  infraAnnotations: Record<string, string>;
  /** One served listener per port, by port. */
  ports: ListenerResult[];
  tlsPorts: ListenerResult[];
  plainPorts: ListenerResult[];
  /** Whether the TLS Secret holds a backend client certificate (`spec.tls.backend`), which the chaperone reads. */
  backendClientCertificate: boolean;
}

function family(
  gateway: Gateway,
  listeners: readonly ListenerResult[],
  tlsBundles: Record<string, string> = {},
): Family {
  const ns = gateway.metadata.namespace ?? "";
  const name = gateway.metadata.name;
  const label = gatewayLabelValue(name);
  const selector = { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [GATEWAY_NAME_LABEL]: label };
  const infraLabels = gateway.spec.infrastructure?.labels ?? {};
  // A label holds 63 characters: a longer name is cut with a hash, and the whole name is kept beside it.
  const nameAnnotation: Record<string, string> = label === name ? {} : { [GATEWAY_NAME_ANNOTATION]: name };
  const ports = [...new Map(listeners.filter((l) => l.usable).map((l) => [l.listener.port, l])).values()]
    .sort((a, b) => a.listener.port - b.listener.port);
  return {
    gateway,
    ns,
    name,
    object: gatewayObjectName(name),
    child: gatewayChildName(name),
    tlsName: tlsSecretName(name),
    adminName: adminTokenSecretName(name),
    labels: sortedKeys({ ...infraLabels, ...selector, [GATEWAY_NAMESPACE_LABEL]: ns }),
    selector,
    infraAnnotations: { ...gateway.spec.infrastructure?.annotations, ...nameAnnotation },
    ports,
    tlsPorts: ports.filter((l) => l.listener.protocol === "HTTPS"),
    plainPorts: ports.filter((l) => l.listener.protocol !== "HTTPS"),
    backendClientCertificate: tlsBundles[BACKEND_CLIENT_CERTIFICATE_KEYS.certificate] !== undefined,
  };
}

/** Metadata of a child in the Gateway's namespace: labels, the infrastructure annotations, the owner reference. */
function meta(f: Family, objectName: string, annotations: Record<string, string> = {}): ChildObject["metadata"] {
  const all = { ...f.infraAnnotations, ...annotations };
  return {
    name: objectName,
    namespace: f.ns,
    labels: f.labels,
    ...(Object.keys(all).length > 0 ? { annotations: sortedKeys(all) } : {}),
    ownerReferences: [{
      apiVersion: `${GATEWAY_GROUP}/v1`,
      kind: "Gateway",
      name: f.name,
      uid: f.gateway.metadata.uid ?? "",
      controller: true,
      blockOwnerDeletion: true,
    }],
  };
}

/**
 * The ClusterRole each gateway's ServiceAccount is bound to in its own namespace (by a RoleBinding, so only there):
 * get and patch pods, to publish the hashes the chaperone applied on its own Pod (the chart's admission policy
 * narrows the patch to that Pod's annotations). The chart creates it (named after its release, passed as
 * `--gateway-pod-cluster-role`); the operator holds `bind` on it, not the right itself, so that its own ClusterRole
 * needs no pod patch to hand this one out. Test clusters get it under this default name.
 */
export const GATEWAY_POD_CLUSTER_ROLE = {
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "ClusterRole",
  metadata: { name: "lacquer-gateway-pod" },
  rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "patch"] }],
} as const;

/**
 * The chaperone's rights in its own namespace: its ConfigMap (and reading the routing.json shards it names), its TLS
 * Secret, Services, EndpointSlices. The routing.json shards are watched by their label ({@linkcode
 * ROUTING_SHARDS_OF_LABEL}), so that they are there when the manifest naming them arrives; RBAC cannot restrict a
 * list or watch by label, so the pod may list every ConfigMap of its namespace (not its Secrets, which stay by name).
 * The `get` of the shards by name is what the chaperone falls back to when a shard's watch event is late.
 */
function localRules(f: Family, shards: readonly string[] = []) {
  return [
    { apiGroups: [""], resources: ["configmaps"], resourceNames: [f.child], verbs: ["get", "list", "watch"] },
    { apiGroups: [""], resources: ["configmaps"], verbs: ["list", "watch"] },
    ...(shards.length > 0
      ? [{ apiGroups: [""], resources: ["configmaps"], resourceNames: shards, verbs: ["get"] }]
      : []),
    ...(f.tlsPorts.length > 0 || f.backendClientCertificate
      ? [{ apiGroups: [""], resources: ["secrets"], resourceNames: [f.tlsName], verbs: ["get", "list", "watch"] }]
      : []),
    { apiGroups: [""], resources: ["services"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] },
  ];
}

function roleBinding(
  f: Family,
  roleRef: { kind: "Role" | "ClusterRole"; name: string },
  metadata: ChildObject["metadata"],
): ChildObject {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata,
    roleRef: { apiGroup: "rbac.authorization.k8s.io", ...roleRef },
    subjects: [{ kind: "ServiceAccount", name: f.child, namespace: f.ns }],
  };
}

/** ServiceAccount, Role and RoleBinding in the Gateway's namespace, and the binding to the pod ClusterRole. */
function localRbac(f: Family, shards: readonly string[], podClusterRole: string): ChildObject[] {
  const rules = localRules(f, shards);
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta(f, f.child) },
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: meta(f, f.child), rules },
    roleBinding(f, { kind: "Role", name: f.child }, meta(f, f.child)),
    roleBinding(f, { kind: "ClusterRole", name: podClusterRole }, meta(f, `${f.child}-pod`)),
  ];
}

/**
 * The name of a Gateway's Role and RoleBinding in a backend namespace: `lacquer-gw-<namespace>.<gateway>`. A
 * namespace name holds no `.`, so the first one tells where it ends and no two Gateways share a name (with `-`,
 * `a-b`/`c` and `a`/`b-c` did). Past the 253 characters an object name may have, it ends in a hash of both.
 *
 * @example Usage
 * ```ts
 * import { remoteRbacName } from "./children.ts";
 * remoteRbacName("shop", "gw"); // "lacquer-gw-shop.gw"
 * ```
 *
 * @param namespace The Gateway's namespace.
 * @param gateway The Gateway's name.
 * @returns The Role and RoleBinding name.
 */
export function remoteRbacName(namespace: string, gateway: string): string {
  return boundedName(`lacquer-gw-${namespace}.${gateway}`, 253, `${namespace}/${gateway}`);
}

/** Role and RoleBinding in each other namespace whose Services routing.json names (no owner reference there). */
function remoteRbac(f: Family, backendNamespaces: readonly string[]): ChildObject[] {
  const remoteName = remoteRbacName(f.ns, f.name);
  const rules = localRules(f).filter((r) => r.resources[0] === "services" || r.resources[0] === "endpointslices");
  return [...new Set(backendNamespaces)].filter((n) => n !== f.ns).sort().flatMap((namespace) => {
    const metadata = { name: remoteName, namespace, labels: f.labels };
    return [
      { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata, rules },
      roleBinding(f, { kind: "Role", name: remoteName }, metadata),
    ];
  });
}

/** The operator's own identity and the ClusterRole it binds to itself to reach Secrets (`secret_access.ts`). */
export interface OperatorSecretAccess {
  /** The chart's ClusterRole of Secret rights, on which the operator holds `bind` only. */
  clusterRole: string;
  /** The operator's ServiceAccount. */
  serviceAccount: { namespace: string; name: string };
}

/**
 * The name of the operator's RoleBinding for a Gateway's Secrets in another namespace:
 * `lacquer-op-<namespace>.<gateway>` (bounded like {@linkcode remoteRbacName}).
 *
 * @example Usage
 * ```ts
 * import { remoteSecretBindingName } from "./children.ts";
 * remoteSecretBindingName("shop", "gw"); // "lacquer-op-shop.gw"
 * ```
 *
 * @param namespace The Gateway's namespace.
 * @param gateway The Gateway's name.
 * @returns The RoleBinding name.
 */
export function remoteSecretBindingName(namespace: string, gateway: string): string {
  return boundedName(`lacquer-op-${namespace}.${gateway}`, 253, `${namespace}/${gateway}`);
}

/**
 * The RoleBindings that give the operator's ServiceAccount the chart's Secret ClusterRole in each namespace a
 * Gateway needs Secrets from: `<gw>-lacquer-operator` in the Gateway's own namespace (owned by the Gateway, like
 * every child there), `lacquer-op-<gw namespace>.<gw>` in the others (pruned by label).
 *
 * @example Usage
 * ```ts ignore
 * import { operatorSecretBindings } from "./children.ts";
 * operatorSecretBindings(gateway, ["web", "certs"], access);
 * ```
 *
 * @param gateway The Gateway.
 * @param namespaces The namespaces (the Gateway's own included).
 * @param access The ClusterRole and the operator's ServiceAccount.
 * @returns One RoleBinding per namespace, the Gateway's own first.
 */
export function operatorSecretBindings(
  gateway: Gateway,
  namespaces: readonly string[],
  access: OperatorSecretAccess,
): ChildObject[] {
  const f = family(gateway, []);
  const binding = (metadata: ChildObject["metadata"]): ChildObject => ({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata,
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: access.clusterRole },
    subjects: [{ kind: "ServiceAccount", ...access.serviceAccount }],
  });
  const others = [...new Set(namespaces)].filter((n) => n !== f.ns).sort();
  return [
    binding(meta(f, `${f.child}-operator`)),
    ...others.map((namespace) => binding({ name: remoteSecretBindingName(f.ns, f.name), namespace, labels: f.labels })),
  ];
}

/**
 * The Gateway's ConfigMap, and for a sharded routing.json one ConfigMap per shard before it (the writer starts the
 * manifest last, with the shards' writes; a reader waits for every shard of the manifest).
 */
function configMapChildren(f: Family, input: ChildrenInput): ChildObject[] {
  const sharded = input.routingShards;
  const routingHash = input.hashes?.routing ?? contentHash(sharded?.manifest ?? input.routingJson);
  const vclHash = input.hashes?.vcl ?? contentHash(input.mainVcl);
  // A shard whose data is the object kept from an earlier translation, under the same metadata, is the same child
  // object as then: a large Gateway has a thousand shards, of which a change touches one.
  const family = sharded && JSON.stringify(meta(f, "", {}));
  const shardsOf = routingShardsLabelValue(f.child);
  const shards: ChildObject[] = (sharded?.shards ?? []).map((shard) => {
    const data = input.shardData?.(shard) ?? routingJsonData(shard.text);
    const kept = shardChildren.get(data);
    if (kept && kept.family === family && kept.name === shard.name && kept.hash === shard.hash) return kept.child;
    const metadata = meta(f, shard.name, { [ROUTING_HASH_ANNOTATION]: shard.hash });
    const child = {
      apiVersion: "v1",
      kind: "ConfigMap",
      // the label the chaperone watches its Gateway's shards by
      metadata: { ...metadata, labels: sortedKeys({ ...metadata.labels, [ROUTING_SHARDS_OF_LABEL]: shardsOf }) },
      ...data,
    };
    shardChildren.set(data, { family: family!, name: shard.name, hash: shard.hash, child });
    return child;
  });
  return [...shards, {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: meta(f, f.child, { [ROUTING_HASH_ANNOTATION]: routingHash, [VCL_HASH_ANNOTATION]: vclHash }),
    ...(sharded
      ? shardedConfigMapData(sharded.manifest, input.mainVcl)
      : routingConfigMapData(input.routingJson, input.mainVcl)),
  }];
}

/** Each shard's ConfigMap child, by its data object, with what its metadata was built from. */
const shardChildren = new WeakMap<object, { family: string; name: string; hash: string; child: ChildObject }>();

/**
 * A kubernetes.io/tls Secret (tls.crt and tls.key are the default certificate), so that the operator's cache of
 * TLS Secrets also holds this child: a no-op reconcile then skips it, and it is pruned like the others.
 */
function tlsSecretChild(f: Family, tlsBundles: Record<string, string>): ChildObject[] {
  if ((f.tlsPorts.length === 0 && !f.backendClientCertificate) || tlsBundles["tls.crt"] === undefined) return [];
  const data = Object.fromEntries(Object.entries(tlsBundles).map(([k, v]) => [k, Buffer.from(v).toString("base64")]));
  return [{ apiVersion: "v1", kind: "Secret", metadata: meta(f, f.tlsName), type: "kubernetes.io/tls", data }];
}

/**
 * The admin token Secret, without its value: `ChildrenWriter` creates it once with a random token and never writes
 * it again, so the token survives every reconcile and never appears in anything the operator computes.
 */
function adminSecretChild(f: Family): ChildObject {
  return { apiVersion: "v1", kind: "Secret", metadata: meta(f, f.adminName), type: "Opaque" };
}

/**
 * The Service, one port per served listener port; none while no listener is served (it needs a port). The
 * Gateway's requested addresses go to the load balancer: one in `spec.loadBalancerIP` (which most load balancers
 * honour), several in MetalLB's annotation.
 */
function serviceChild(f: Family, parameters: ResolvedParameters): ChildObject[] {
  if (f.ports.length === 0) return [];
  const ips = requestedAddresses(f.gateway).ips ?? [];
  const annotations = {
    ...f.infraAnnotations,
    ...parameters.serviceAnnotations,
    ...(ips.length > 1 ? { [LB_IPS_ANNOTATION]: ips.join(",") } : {}),
  };
  return [{
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      ...meta(f, f.object),
      labels: sortedKeys({ ...parameters.serviceLabels, ...f.labels }),
      ...(Object.keys(annotations).length > 0 ? { annotations: sortedKeys(annotations) } : {}),
    },
    spec: {
      type: parameters.serviceType,
      ...(ips.length === 1 ? { loadBalancerIP: ips[0] } : {}),
      selector: f.selector,
      ports: f.ports.map((l) => ({
        name: l.socket,
        port: l.listener.port,
        targetPort: l.listener.port,
        protocol: "TCP",
      })),
    },
  }];
}

type EnvVar = { name: string; value: string } | { name: string; valueFrom: unknown };

function containerEnv(f: Family, parameters: ResolvedParameters): EnvVar[] {
  const listen = (ports: ListenerResult[]) => ports.map((l) => `${l.socket}=:${l.listener.port}`).join(" ");
  const env: EnvVar[] = [
    { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
    { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
    { name: "LACQUER_CONFIGMAP", value: f.child },
    {
      name: "LACQUER_LISTEN",
      value: [
        listen(f.plainPorts),
        ...(parameters.clusteredCache ? [`${GHOST_PEER_SOCKET_NAME}=:${GHOST_PEER_PORT}`] : []),
      ]
        .filter((l) => l !== "").join(" "),
    },
    // The clustered cache: other gateway pods reach this one's peer listener at its IP.
    ...(parameters.clusteredCache ? [{ name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }] : []),
    ...(f.tlsPorts.length > 0
      ? [{ name: "LACQUER_TLS_LISTEN", value: listen(f.tlsPorts) }, { name: "LACQUER_TLS_SECRET", value: f.tlsName }]
      : []),
    ...(f.backendClientCertificate ? [{ name: "LACQUER_BACKEND_CLIENT_SECRET", value: f.tlsName }] : []),
    { name: "LACQUER_STORAGE", value: parameters.storage },
    { name: "LACQUER_KEEPER_SOCKET", value: KEEPER_SOCKET },
    ...(parameters.http2 ? [{ name: "LACQUER_HTTP2", value: "true" }] : []),
  ];
  const own = new Set(env.map((e) => e.name));
  return [...env, ...parameters.env.filter((e) => !own.has(e.name))];
}

function gatewayContainer(f: Family, parameters: ResolvedParameters): Record<string, unknown> {
  const admin = (path: string) => ({ path, port: CHAPERONE_ADMIN_PORT });
  return {
    name: GATEWAY_CONTAINER,
    image: parameters.image,
    imagePullPolicy: parameters.imagePullPolicy,
    args: [
      "--log-level",
      parameters.logLevel,
      "chaperone",
      ...parameters.varnishdArgs.map((a) => `--varnishd-arg=${a}`),
      ...(parameters.accessLogSample === undefined ? [] : [`--access-log-sample=${parameters.accessLogSample}`]),
    ],
    env: containerEnv(f, parameters),
    ports: [
      ...f.ports.map((l) => ({ name: l.socket, containerPort: l.listener.port, protocol: "TCP" })),
      { name: "admin", containerPort: CHAPERONE_ADMIN_PORT, protocol: "TCP" },
      // Not a port of the Gateway's Service: only other gateway pods use it, each request signed.
      ...(parameters.clusteredCache ? [{ name: "peer", containerPort: GHOST_PEER_PORT, protocol: "TCP" }] : []),
    ],
    // Liveness counts only once the chaperone answered: a start slowed by a busy node (Deno loading the program)
    // must not be killed as a hang, which would only restart the same slow start.
    startupProbe: { httpGet: admin("/healthz"), periodSeconds: 1, failureThreshold: 300 },
    readinessProbe: { httpGet: admin("/readyz"), periodSeconds: 2, failureThreshold: 2 },
    livenessProbe: { httpGet: admin("/healthz"), periodSeconds: 10, failureThreshold: 3 },
    // Requests default only when none are given (limits alone make Kubernetes request the limits).
    resources: parameters.resources.requests || parameters.resources.limits
      ? parameters.resources
      : { requests: defaultRequests(parameters) },
    // The chaperone, varnishd (its -n dir, compiled VCL) and gcc (TMPDIR) write only to the "run" emptyDir.
    securityContext: GATEWAY_CONTAINER_SECURITY_CONTEXT,
    // SIGTERM drains (no preStop hook: it would need the admin token in the pod spec). The admin token is mounted
    // below the run directory, read-only.
    volumeMounts: [
      { name: "run", mountPath: "/var/run/lacquer" },
      { name: "varnishd", mountPath: VARNISHD_INSTANCE_DIR },
      { name: "admin-token", mountPath: ADMIN_TOKEN_DIR, readOnly: true },
      { name: "keeper", mountPath: KEEPER_DIR },
    ],
  };
}

/**
 * The socket keeper (`ghost/keeper`, `chaperone/README.md`): holds the listening sockets varnishd and hitch bind for
 * the pod's lifetime, so that connections wait for a restarted varnishd or hitch instead of being refused. A native
 * sidecar (an init container that keeps running), outside the gateway container, so that it outlives a restart of
 * that container too.
 * It binds no port; it needs only its socket's directory. It runs `image`, the operator's gateway image: a sidecar
 * that cannot start holds back the gateway container, so a custom gateway image without the keeper must not be run
 * here (its chaperone then finds no shim and binds the listeners itself).
 */
function keeperContainer(parameters: ResolvedParameters, image: string): Record<string, unknown> {
  return {
    name: KEEPER_CONTAINER,
    image,
    // The Gateway's pull policy is for its image; the operator's image is pulled as the chart's default class does.
    imagePullPolicy: image === parameters.image ? parameters.imagePullPolicy : "IfNotPresent",
    restartPolicy: "Always",
    command: [KEEPER_PROGRAM],
    args: [KEEPER_SOCKET],
    // Measured idle: under 1 MiB resident, no CPU; it works only when varnishd starts.
    resources: { requests: { cpu: "5m", memory: "8Mi" } },
    securityContext: GATEWAY_CONTAINER_SECURITY_CONTEXT,
    volumeMounts: [{ name: "keeper", mountPath: KEEPER_DIR }],
  };
}

/** The restricted Pod Security Standard: nothing to escalate to, and the image's root filesystem read-only. */
const GATEWAY_CONTAINER_SECURITY_CONTEXT = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
};

/**
 * The most the gateway container's `run` volume (in memory) may hold: ghost.json twice at 50,000 routes (the file and
 * its atomic rewrite, about 15 MiB each), the eight compiled VCLs the compile cache keeps and a VCL compile's temporary
 * files, with room to spare. Only what is written counts against the pod's memory, not the limit.
 */
const RUN_VOLUME_SIZE_LIMIT = "256Mi";

/**
 * Memory a gateway pod uses besides its cache storage: varnishd's workspaces and threads, the chaperone, hitch, and
 * the files of its in-memory volumes (`run`: a few MiB for a small Gateway, up to about 40 at 50,000 routes; varnishd's
 * shared-memory log).
 */
const MEMORY_OVERHEAD_MI = 128;

const SIZE_UNITS_MI: Record<string, number> = { k: 1 / 1024, m: 1, g: 1024, t: 1024 * 1024 };

/**
 * Resource requests of a gateway container whose parameters name none: a tenth of a core, and the malloc storage
 * size plus {@linkcode MEMORY_OVERHEAD_MI}, so that the scheduler places the pod where its cache fits. No limits:
 * a memory limit would turn a full cache into OOM kills.
 */
function defaultRequests(parameters: ResolvedParameters): Record<string, string> {
  const size = /^(?:\w+=)?malloc,(\d+)([kmgt])?$/i.exec(parameters.storage);
  const storageMi = size
    ? Math.ceil(Number(size[1]) * (SIZE_UNITS_MI[(size[2] ?? "").toLowerCase()] ?? 1 / 1048576))
    : 0;
  return { cpu: "100m", memory: `${storageMi + MEMORY_OVERHEAD_MI}Mi` };
}

/**
 * Spreads a Gateway's pods over nodes and zones when it can; ScheduleAnyway, so a single-node cluster still runs
 * them all.
 */
function topologySpread(f: Family): Record<string, unknown>[] {
  return ["kubernetes.io/hostname", "topology.kubernetes.io/zone"].map((topologyKey) => ({
    maxSkew: 1,
    topologyKey,
    whenUnsatisfiable: "ScheduleAnyway",
    labelSelector: { matchLabels: f.selector },
  }));
}

/**
 * The gateway pod runs as the gateway image's non-root user. varnishd and hitch bind the listener ports themselves,
 * below 1024 too: the pod's own network namespace lets every user bind any port (a safe sysctl, allowed by the
 * restricted Pod Security Standard), so the container port stays the listener port. NET_BIND_SERVICE would not do:
 * Kubernetes gives added capabilities to a non-root process only through file capabilities, which
 * allowPrivilegeEscalation: false turns off.
 */
const GATEWAY_POD_SECURITY_CONTEXT = {
  runAsNonRoot: true,
  runAsUser: LACQUER_UID,
  runAsGroup: LACQUER_UID,
  seccompProfile: { type: "RuntimeDefault" },
  sysctls: [{ name: "net.ipv4.ip_unprivileged_port_start", value: "0" }],
};

/**
 * Ingress of the gateway pods: listener ports from anywhere, the admin port only from namespaces labelled
 * {@linkcode GATEWAY_ADMIN_ACCESS_LABEL}, the clustered cache's peer port only from the Gateway's own pods. Kubelet
 * probes and hooks come from the node, which NetworkPolicy always allows.
 */
function networkPolicyChild(f: Family, parameters: ResolvedParameters): ChildObject {
  const tcp = (port: number) => ({ protocol: "TCP", port });
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: meta(f, f.object),
    spec: {
      podSelector: { matchLabels: f.selector },
      policyTypes: ["Ingress"],
      ingress: [
        ...(f.ports.length > 0 ? [{ ports: f.ports.map((l) => tcp(l.listener.port)) }] : []),
        {
          from: [{ namespaceSelector: { matchLabels: { [GATEWAY_ADMIN_ACCESS_LABEL]: "allowed" } } }],
          ports: [tcp(CHAPERONE_ADMIN_PORT)],
        },
        ...(parameters.clusteredCache
          ? [{ from: [{ podSelector: { matchLabels: f.selector } }], ports: [tcp(GHOST_PEER_PORT)] }]
          : []),
      ],
    },
  };
}

function deploymentChild(f: Family, parameters: ResolvedParameters, keeperImage: string): ChildObject {
  const template = {
    metadata: {
      labels: f.labels,
      ...(Object.keys(f.infraAnnotations).length > 0 ? { annotations: sortedKeys(f.infraAnnotations) } : {}),
    },
    spec: {
      serviceAccountName: f.child,
      terminationGracePeriodSeconds: 60,
      securityContext: GATEWAY_POD_SECURITY_CONTEXT,
      topologySpreadConstraints: topologySpread(f),
      initContainers: [keeperContainer(parameters, keeperImage)],
      containers: [gatewayContainer(f, parameters)],
      volumes: [
        // ghost.json (about 15 MiB at 50,000 routes, twice that during its atomic rewrite), its deltas, the compiled
        // VCL cache and gcc's temporary files: in memory, since a reload writes and ghost reads ghost.json on a
        // change's path, and a disk-backed volume makes both wait for the node's disk. The pages count against the
        // pod's memory; the limit bounds them (RUN_VOLUME_SIZE_LIMIT).
        { name: "run", emptyDir: { medium: "Memory", sizeLimit: RUN_VOLUME_SIZE_LIMIT } },
        // varnishd writes its shared-memory log (every request's records) through a mapping of a file in its -n
        // directory: on a disk-backed volume the kernel writes those pages back and faults them in again (5 % of a
        // cache hit's time, measured), in memory it does not. The pages count against the pod's memory either way.
        { name: "varnishd", emptyDir: { medium: "Memory" } },
        { name: "admin-token", secret: { secretName: f.adminName } },
        { name: "keeper", emptyDir: {} },
      ],
    },
  };
  // The hash covers the whole pod template, which holds infrastructure only (never routes or VCL), so it changes
  // exactly when the pods must be replaced.
  const infraHash = contentHash(canonical(template)).slice(7, 23);
  const annotations = sortedKeys({ ...template.metadata.annotations, [INFRA_HASH_ANNOTATION]: infraHash });
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: meta(f, f.object),
    spec: {
      // Two by default, so that one serves while the other goes. Dropped by the writer while a
      // HorizontalPodAutoscaler targets the Deployment (its replicas are the HPA's).
      replicas: parameters.replicas,
      selector: { matchLabels: f.selector },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: { ...template, metadata: { ...template.metadata, annotations } },
    },
  };
}

/** At most one gateway pod evicted at a time (node drains, cluster upgrades): with two or more, one keeps serving. */
function podDisruptionBudgetChild(f: Family): ChildObject {
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: meta(f, f.object),
    spec: { maxUnavailable: 1, selector: { matchLabels: f.selector } },
  };
}

/**
 * Builds every child object of a Gateway, in a fixed order: ServiceAccount, Role, RoleBindings, ConfigMap, the
 * TLS Secret, the admin token Secret, Service, Deployment, NetworkPolicy, PodDisruptionBudget, then the Roles and
 * RoleBindings in backend namespaces.
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
  const f = family(input.gateway, input.listeners, input.tlsBundles ?? {});
  return [
    ...localRbac(
      f,
      input.routingShards?.shards.map((s) => s.name) ?? [],
      input.podClusterRole ?? GATEWAY_POD_CLUSTER_ROLE.metadata.name,
    ),
    ...configMapChildren(f, input),
    ...tlsSecretChild(f, input.tlsBundles ?? {}),
    adminSecretChild(f),
    ...serviceChild(f, input.parameters),
    deploymentChild(f, input.parameters, input.keeperImage ?? input.parameters.image),
    networkPolicyChild(f, input.parameters),
    podDisruptionBudgetChild(f),
    ...remoteRbac(f, input.backendNamespaces),
  ];
}
