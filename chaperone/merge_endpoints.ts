/**
 * The pure heart of the chaperone: routing.json plus the cluster's Services and EndpointSlices → ghost.json.
 *
 * @module
 */
import type {
  GhostBackend,
  GhostClientCertificate,
  GhostCluster,
  GhostEndpoint,
  GhostJson,
  RoutingBackend,
  RoutingBackendTls,
  RoutingJson,
} from "../ghost/contract/mod.ts";
import { GHOST_PEER_PORT } from "../internal/names.ts";
import {
  type EndpointSliceView,
  SERVICE_NAME_LABEL,
  type ServiceView,
  SLICE_CONTROLLER,
  SLICE_MANAGED_BY_LABEL,
} from "./kube_views.ts";

/** The cluster state a merge reads. Order does not matter: the output is sorted. */
export interface ClusterEndpoints {
  /** Services of the namespaces routing.json references. */
  services: readonly ServiceView[];
  /** EndpointSlices of the same namespaces. */
  endpointSlices: readonly EndpointSliceView[];
  /** The Gateway's backend client certificate (from its TLS Secret), for backends whose `tls` asks for it. */
  backendClientCertificate?: GhostClientCertificate;
}

/** What a gateway pod knows of itself for the clustered cache. */
export interface PeerIdentity {
  /** The pod's IP address (its peer listener listens there on {@linkcode GHOST_PEER_PORT}). */
  address: string;
  /** The key that signs peer requests: the same in every pod of the Gateway, never derived from public fields. */
  secret: string;
}

/** The name of a backend group whose backendRef the operator could not resolve. */
export const UNRESOLVED_BACKEND_NAME = "unresolved";

interface ServiceIndex {
  services: Map<string, ServiceView>;
  slices: Map<string, EndpointSliceView[]>;
  clientCertificate?: GhostClientCertificate;
}

function indexCluster(cluster: ClusterEndpoints): ServiceIndex {
  const services = new Map<string, ServiceView>();
  for (const svc of cluster.services) services.set(`${svc.metadata.namespace}/${svc.metadata.name}`, svc);
  const slices = new Map<string, EndpointSliceView[]>();
  for (const slice of cluster.endpointSlices) {
    const owner = slice.metadata.labels[SERVICE_NAME_LABEL];
    if (owner === undefined) continue;
    const key = `${slice.metadata.namespace}/${owner}`;
    // A Service with a selector gets its endpoints from Kubernetes' controller only: a slice anyone else labels
    // with its name would add addresses of their choosing. Services without one have slices their owner writes.
    const selects = Object.keys(services.get(key)?.spec.selector ?? {}).length > 0;
    if (selects && slice.metadata.labels[SLICE_MANAGED_BY_LABEL] !== SLICE_CONTROLLER) continue;
    const list = slices.get(key);
    if (list) list.push(slice);
    else slices.set(key, [slice]);
  }
  return { services, slices, clientCertificate: cluster.backendClientCertificate };
}

function ipv4Key(address: string): string | undefined {
  const parts = address.split(".");
  if (parts.length !== 4) return undefined;
  return parts.map((p) => p.padStart(3, "0")).join(".");
}

/** Orders endpoints IPv4 first (numerically), then IPv6 (textually), then by port. */
function compareEndpoints(a: GhostEndpoint, b: GhostEndpoint): number {
  const ka = ipv4Key(a.address) ?? `~${a.address}`;
  const kb = ipv4Key(b.address) ?? `~${b.address}`;
  if (ka !== kb) return ka < kb ? -1 : 1;
  return a.port - b.port;
}

/**
 * Which endpoints a backend uses, in order of preference: the ready ones; else those still serving while
 * terminating (as kube-proxy does, so a drain never turns into 500s); else, as Envoy's panic routing does, those not
 * ready but not terminating either. The last happens when the node controller marks every pod of a node not ready
 * because the node's status did not reach it (an API server outage longer than the node grace period): the pods
 * still serve, and without them every request would get a 500.
 */
type Pick = "ready" | "servingTerminating" | "notTerminating";

function usable(conditions: { ready?: boolean; serving?: boolean; terminating?: boolean }, pick: Pick): boolean {
  const { ready, serving, terminating } = conditions;
  // An absent `ready` means ready (API semantics).
  if (pick === "ready") return ready !== false;
  if (pick === "servingTerminating") return serving !== false && terminating === true;
  return terminating !== true;
}

function collect(slices: readonly EndpointSliceView[], portName: string, protocol: string, pick: Pick) {
  const seen = new Set<string>();
  const out: GhostEndpoint[] = [];
  for (const slice of slices) {
    if (slice.addressType !== "IPv4" && slice.addressType !== "IPv6") continue;
    // EndpointSlice ports carry the Service port's name and the pod's target port, resolved per slice.
    const port = slice.ports.find((p) => p.name === portName && p.protocol === protocol)?.port;
    if (port === undefined) continue;
    for (const endpoint of slice.endpoints) {
      if (!usable(endpoint.conditions, pick)) continue;
      for (const address of endpoint.addresses) {
        const key = `${address} ${port}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({ address, port });
      }
    }
  }
  return out.sort(compareEndpoints);
}

function resolveBackend(backend: RoutingBackend, index: ServiceIndex): GhostBackend {
  const { weight, filters } = backend;
  if (backend.service === undefined) {
    return { weight, name: UNRESOLVED_BACKEND_NAME, endpoints: [], error: backend.unresolved, filters };
  }
  const { namespace, name: serviceName, port } = backend.service;
  const name = `${namespace}/${serviceName}:${port}`;
  const key = `${namespace}/${serviceName}`;
  const service = index.services.get(key);
  if (service === undefined) {
    return { weight, name, endpoints: [], error: `Service "${key}" not found`, filters };
  }
  if (service.spec.type === "ExternalName") {
    return {
      weight,
      name,
      endpoints: [],
      error: `Service "${key}" is of type ExternalName, which has no endpoints`,
      filters,
    };
  }
  const servicePort = service.spec.ports.find((p) => p.port === port && p.protocol === "TCP");
  if (servicePort === undefined) {
    return { weight, name, endpoints: [], error: `Service "${key}" has no TCP port ${port}`, filters };
  }
  const slices = index.slices.get(key) ?? [];
  let endpoints = collect(slices, servicePort.name, "TCP", "ready");
  if (endpoints.length === 0) endpoints = collect(slices, servicePort.name, "TCP", "servingTerminating");
  if (endpoints.length === 0) endpoints = collect(slices, servicePort.name, "TCP", "notTerminating");
  // TLS (a BackendTLSPolicy) and cleartext HTTP/2 (prior knowledge) need ghost's own transport; other ports keep
  // Varnish's HTTP/1.1 backends.
  if (backend.tls) return tlsBackend(backend.tls, { weight, name, endpoints, filters }, index);
  if (servicePort.appProtocol === H2C_APP_PROTOCOL) return { weight, name, endpoints, filters, transport: H2C };
  return { weight, name, endpoints, filters };
}

/** A group reached over TLS, presenting the Gateway's backend client certificate when it has one. */
function tlsBackend(tls: RoutingBackendTls, group: GhostBackend, index: ServiceIndex): GhostBackend {
  const { clientCertificate } = index;
  return { ...group, transport: { protocol: "HTTPS", tls: clientCertificate ? { ...tls, clientCertificate } : tls } };
}

/** The Service port appProtocol of cleartext HTTP/2 (Gateway API: HTTPRouteBackendProtocolH2C). */
export const H2C_APP_PROTOCOL = "kubernetes.io/h2c";
const H2C = { protocol: "H2C" } as const;

/**
 * Merges routing.json with the cluster's endpoints into ghost.json.
 *
 * Each backend group naming a Service port becomes `namespace/service:port` with the ready endpoints of every
 * EndpointSlice of that Service (the slice port with the Service port's name gives the target port, so named and
 * numeric targetPorts both work). When a Service has no ready endpoint at all, endpoints that are still serving
 * while terminating are used instead, as kube-proxy does, and without those the endpoints not ready but not
 * terminating either (panic routing: with none, every request would fail). A group that cannot be resolved keeps its weight, gets no
 * endpoints and carries the reason in `error`, so its share of the traffic answers 500 with a useful message.
 * Mirror backends are resolved the same way. A Service port with `appProtocol: kubernetes.io/h2c` gets
 * `transport: {protocol: "H2C"}`: ghost reaches it over cleartext HTTP/2. A group with `tls` (its BackendTLSPolicy)
 * gets `transport: {protocol: "HTTPS", tls}`, with the Gateway's backend client certificate when it has one.
 * Everything else (listeners, the cache policy table, vhosts, routes, matches, filters, timeouts, retries, cache settings, request
 * settings) is copied unchanged. Endpoints are sorted, so the output depends only on the state, not on the order in
 * which objects arrived.
 *
 * Endpoint conditions: https://kubernetes.io/docs/concepts/services-networking/endpoint-slices/#conditions
 *
 * @example Usage
 * ```ts
 * import { mergeEndpoints } from "./merge_endpoints.ts";
 * import { parseRoutingJson } from "../ghost/contract/mod.ts";
 * const ghost = mergeEndpoints(parseRoutingJson('{"version": 1, "vhosts": {}}'), {
 *   services: [],
 *   endpointSlices: [],
 * });
 * ```
 *
 * With `routing.cluster` (the clustered cache) and the pod's own identity, ghost.json's `cluster` lists the peer
 * listeners of the Gateway Service's ready endpoints, this pod's own, and the signing secret; without the identity
 * the section is left out and every pod caches on its own.
 *
 * @param routing The parsed routing.json.
 * @param cluster The Services and EndpointSlices of the namespaces it references.
 * @param self This pod's identity, for the clustered cache.
 * @returns The ghost.json document.
 */
export function mergeEndpoints(routing: RoutingJson, cluster: ClusterEndpoints, self?: PeerIdentity): GhostJson {
  const resolve = backendResolver(cluster);
  const vhosts: GhostJson["vhosts"] = {};
  for (const [host, vhost] of Object.entries(routing.vhosts)) vhosts[host] = mergeVhost(vhost, resolve);
  return ghostDocument(routing, vhosts, peerSection(routing, cluster, self));
}

/** Resolves a routing.json backend group against one cluster state. */
export type BackendResolver = (backend: RoutingBackend) => GhostBackend;

/**
 * Makes the resolver of backend groups for one cluster state; each Service port is resolved once, however many
 * backend groups name it.
 *
 * @param cluster The Services and EndpointSlices.
 * @returns The resolver.
 */
export function backendResolver(cluster: ClusterEndpoints): BackendResolver {
  const index = indexCluster(cluster);
  const resolved = new Map<string, GhostBackend>();
  return (backend) => {
    if (backend.service === undefined) return resolveBackend(backend, index);
    const { namespace, name, port } = backend.service;
    const key = `${namespace}/${name}:${port}`;
    let found = resolved.get(key);
    if (found === undefined) resolved.set(key, found = resolveBackend({ ...backend, filters: [] }, index));
    // the same fields in the same order as resolveBackend gives them, this group's weight and filters
    const { endpoints, error, transport } = found;
    const { weight, filters } = backend;
    const group: GhostBackend = error === undefined
      ? { weight, name: found.name, endpoints, filters }
      : { weight, name: found.name, endpoints, error, filters };
    return transport === undefined ? group : { ...group, transport };
  };
}

/**
 * One vhost of ghost.json: the routing.json vhost with each backend group resolved.
 *
 * @param vhost The routing.json vhost.
 * @param resolve The backend resolver of the current cluster state.
 * @returns The ghost.json vhost.
 */
export function mergeVhost(
  vhost: RoutingJson["vhosts"][string],
  resolve: BackendResolver,
): GhostJson["vhosts"][string] {
  return {
    routes: vhost.routes.map((route) => ({
      id: route.id,
      created: route.created,
      listeners: route.listeners,
      matches: route.matches,
      filters: route.filters,
      backends: route.backends.map(resolve),
      ...(route.mirrors ? { mirrors: route.mirrors.map((m) => ({ ...m, backend: resolve(m.backend) })) } : {}),
      ...(route.timeouts ? { timeouts: route.timeouts } : {}),
      ...(route.retry ? { retry: route.retry } : {}),
      ...(route.cache ? { cache: route.cache } : {}),
    })),
  };
}

/**
 * The ghost.json document around merged vhosts: routing.json's document-wide fields, in the product's key order.
 *
 * @param routing The routing.json document.
 * @param vhosts The merged vhosts.
 * @param peers The clustered cache's section ({@linkcode peerSection}).
 * @returns The ghost.json document.
 */
export function ghostDocument(routing: RoutingJson, vhosts: GhostJson["vhosts"], peers?: GhostCluster): GhostJson {
  const { version, listeners, cachePolicies, requests } = routing;
  return {
    version,
    listeners,
    ...(cachePolicies ? { cachePolicies } : {}),
    vhosts,
    ...(requests ? { requests } : {}),
    ...(peers ? { cluster: peers } : {}),
  };
}

/**
 * ghost.json's clustered cache section: the ready pods of the Gateway's own Service as peer listeners, sorted (each
 * pod once, whatever its ports), this pod's own and the secret; undefined unless routing.json clusters the cache and
 * the pod knows its identity.
 *
 * @param routing The routing.json document.
 * @param cluster The Services and EndpointSlices.
 * @param self This pod's identity.
 * @returns The section, if any.
 */
export function peerSection(
  routing: RoutingJson,
  cluster: ClusterEndpoints,
  self: PeerIdentity | undefined,
): GhostCluster | undefined {
  if (!routing.cluster || !self) return undefined;
  const { namespace, name } = routing.cluster.service;
  const addresses = new Set<string>();
  for (const slice of indexCluster(cluster).slices.get(`${namespace}/${name}`) ?? []) {
    if (slice.addressType !== "IPv4" && slice.addressType !== "IPv6") continue;
    for (const endpoint of slice.endpoints) {
      if (!usable(endpoint.conditions, "ready")) continue;
      for (const address of endpoint.addresses) addresses.add(address);
    }
  }
  const peers = [...addresses].map((address) => ({ address, port: GHOST_PEER_PORT })).sort(compareEndpoints);
  return { self: { address: self.address, port: GHOST_PEER_PORT }, peers, secret: self.secret };
}

/**
 * Lists the namespaces whose Services routing.json references, sorted: the namespaces the chaperone watches.
 *
 * @example Usage
 * ```ts
 * import { referencedNamespaces } from "./merge_endpoints.ts";
 * import { parseRoutingJson } from "../ghost/contract/mod.ts";
 * referencedNamespaces(parseRoutingJson('{"version": 1, "vhosts": {}}')); // []
 * ```
 *
 * @param routing The parsed routing.json.
 * @returns The namespaces.
 */
export function referencedNamespaces(routing: RoutingJson): string[] {
  const namespaces = new Set<string>();
  for (const vhost of Object.values(routing.vhosts)) {
    for (const namespace of vhostNamespaces(vhost)) namespaces.add(namespace);
  }
  if (routing.cluster) namespaces.add(routing.cluster.service.namespace);
  return [...namespaces].sort();
}

/** The namespaces of one vhost, once per vhost object: parsed documents are not changed, and unchanged shards keep theirs. */
const namespacesOfVhost = new WeakMap<RoutingJson["vhosts"][string], string[]>();

function vhostNamespaces(vhost: RoutingJson["vhosts"][string]): string[] {
  let namespaces = namespacesOfVhost.get(vhost);
  if (namespaces === undefined) {
    const set = new Set<string>();
    for (const route of vhost.routes) {
      for (const backend of [...route.backends, ...(route.mirrors ?? []).map((m) => m.backend)]) {
        if (backend.service) set.add(backend.service.namespace);
      }
    }
    namespacesOfVhost.set(vhost, namespaces = [...set]);
  }
  return namespaces;
}
