/**
 * The pure heart of the chaperone: routing.json plus the cluster's Services and EndpointSlices → ghost.json.
 *
 * @module
 */
import {
  GHOST_JSON_VERSION,
  type GhostBackend,
  type GhostBackendEntry,
  type GhostClientCertificate,
  type GhostCluster,
  type GhostEndpoint,
  type GhostJson,
  type RoutingBackend,
  type RoutingBackendTls,
  type RoutingJson,
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

/** One Service and the EndpointSlices labelled with its name: all that resolving one of its ports reads. */
export interface ServiceEndpoints {
  /** The Service, unless only slices name it. */
  service?: ServiceView;
  /** Its EndpointSlices, in any order. */
  slices: readonly EndpointSliceView[];
}

/**
 * The cluster state by Service (`namespace/name`). An entry is a new object whenever its Service or one of its slices
 * changes and the same object otherwise, so that a builder tells what changed by identity
 * (`endpoints_watcher.ts` keeps one so).
 */
export type EndpointsIndex = ReadonlyMap<string, ServiceEndpoints>;

/**
 * Groups the cluster state by Service.
 *
 * @example Usage
 * ```ts
 * import { indexEndpoints } from "./merge_endpoints.ts";
 * indexEndpoints({ services: [], endpointSlices: [] }).size; // 0
 * ```
 *
 * @param cluster The Services and EndpointSlices.
 * @returns The index (new entries every call).
 */
export function indexEndpoints(cluster: Omit<ClusterEndpoints, "backendClientCertificate">): EndpointsIndex {
  const index = new Map<string, { service?: ServiceView; slices: EndpointSliceView[] }>();
  const entry = (key: string) => {
    let found = index.get(key);
    if (found === undefined) index.set(key, found = { slices: [] });
    return found;
  };
  for (const svc of cluster.services) entry(`${svc.metadata.namespace}/${svc.metadata.name}`).service = svc;
  for (const slice of cluster.endpointSlices) {
    const owner = slice.metadata.labels[SERVICE_NAME_LABEL];
    if (owner !== undefined) entry(`${slice.metadata.namespace}/${owner}`).slices.push(slice);
  }
  return index;
}

/**
 * The slices that give a Service its endpoints: a Service with a selector gets them from Kubernetes' controller only
 * (a slice anyone else labels with its name would add addresses of their choosing); Services without one have
 * slices their owner writes.
 */
function trustedSlices(entry: ServiceEndpoints | undefined): readonly EndpointSliceView[] {
  if (entry === undefined) return [];
  if (Object.keys(entry.service?.spec.selector ?? {}).length === 0) return entry.slices;
  return entry.slices.filter((slice) => slice.metadata.labels[SLICE_MANAGED_BY_LABEL] === SLICE_CONTROLLER);
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

/**
 * Resolves one Service port (`backend.service`) against its Service's entry: the backend group without weight and
 * filters, which {@linkcode withGroup} adds.
 *
 * @param backend The routing.json backend group naming the port.
 * @param entry The entry of its Service.
 * @param clientCertificate The Gateway's backend client certificate, for a group with `tls`.
 * @returns The resolved group (weight 1, no filters).
 */
export function resolveServicePort(
  backend: RoutingBackend,
  entry: ServiceEndpoints | undefined,
  clientCertificate: GhostClientCertificate | undefined,
): GhostBackend {
  const [weight, filters] = [1, []];
  if (backend.service === undefined) {
    return { weight, name: UNRESOLVED_BACKEND_NAME, endpoints: [], error: backend.unresolved, filters };
  }
  const { namespace, name: serviceName, port } = backend.service;
  const name = `${namespace}/${serviceName}:${port}`;
  const key = `${namespace}/${serviceName}`;
  const service = entry?.service;
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
  const slices = trustedSlices(entry);
  let endpoints = collect(slices, servicePort.name, "TCP", "ready");
  if (endpoints.length === 0) endpoints = collect(slices, servicePort.name, "TCP", "servingTerminating");
  if (endpoints.length === 0) endpoints = collect(slices, servicePort.name, "TCP", "notTerminating");
  // TLS (a BackendTLSPolicy) and cleartext HTTP/2 (prior knowledge) need ghost's own transport; other ports keep
  // Varnish's HTTP/1.1 backends.
  if (backend.tls) return tlsBackend(backend.tls, { weight, name, endpoints, filters }, clientCertificate);
  if (servicePort.appProtocol === H2C_APP_PROTOCOL) return { weight, name, endpoints, filters, transport: H2C };
  return { weight, name, endpoints, filters };
}

/**
 * A resolved Service port as one backend group of a route: that group's weight and filters, in the fields' order
 * of the contract.
 *
 * @param resolved The resolved port ({@linkcode resolveServicePort}).
 * @param backend The routing.json backend group.
 * @returns The ghost.json backend group.
 */
export function withGroup(resolved: GhostBackend, backend: RoutingBackend): GhostBackend {
  const { endpoints, error, transport } = resolved;
  const { weight, filters } = backend;
  const group: GhostBackend = error === undefined
    ? { weight, name: resolved.name, endpoints, filters }
    : { weight, name: resolved.name, endpoints, error, filters };
  return transport === undefined ? group : { ...group, transport };
}

/**
 * A routing.json backend group with the CA bundle its `tls.caBundle` names written out as `caCertificates`, what
 * ghost.json carries (ghost reads no bundle table); a group whose bundle is missing gets no service but the reason,
 * so its share of the traffic answers 500, never plain HTTP.
 *
 * @example Usage
 * ```ts
 * import { inlineCaBundle } from "./merge_endpoints.ts";
 * const backend = { weight: 1, filters: [], service: { namespace: "a", name: "b", port: 443 }, tls: { hostname: "b" } };
 * inlineCaBundle(backend, new Map()) === backend; // true: no bundle named
 * ```
 *
 * @param backend The routing.json backend group.
 * @param bundles The CA bundles of routing.json (the whole document's, or those of the shards' generation).
 * @returns The group with its CA certificates inline (the same object when it names no bundle).
 */
export function inlineCaBundle(backend: RoutingBackend, bundles: ReadonlyMap<string, string>): RoutingBackend {
  const key = backend.tls?.caBundle;
  if (key === undefined) return backend;
  const pem = bundles.get(key);
  const { weight, filters } = backend;
  if (pem === undefined) return { weight, filters, unresolved: `The CA bundle "${key}" is missing from routing.json` };
  const { hostname, caBundle: _, ...names } = backend.tls!;
  return { ...backend, tls: { hostname, caCertificates: pem, ...names } };
}

/** A group reached over TLS, presenting the Gateway's backend client certificate when it has one. */
function tlsBackend(
  tls: RoutingBackendTls,
  group: GhostBackend,
  clientCertificate: GhostClientCertificate | undefined,
): GhostBackend {
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
 * gets `transport: {protocol: "HTTPS", tls}`, with the Gateway's backend client certificate when it has one and the
 * CA bundle its `tls.caBundle` names written out as `caCertificates` ({@linkcode inlineCaBundle}).
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
  const index = indexEndpoints(cluster);
  const bundles = new Map(Object.entries(routing.caBundles ?? {}));
  const { backendClientCertificate: clientCertificate } = cluster;
  const resolve = backendResolver(index, { clientCertificate, bundles });
  const backends: Record<string, GhostBackendEntry> = {};
  const group = (named: RoutingBackend): GhostBackend => {
    const key = portKey(named);
    const backend = inlineCaBundle(named, bundles);
    if (key === undefined || backend.service === undefined) return resolve(named);
    const resolved = resolveServicePort(backend, index.get(serviceKey(backend)), clientCertificate);
    backends[key] ??= backendEntry(resolved);
    return keyedGroup(resolved, backend, key);
  };
  const vhosts: GhostJson["vhosts"] = {};
  for (const [host, vhost] of Object.entries(routing.vhosts)) vhosts[host] = mergeVhost(vhost, group, resolve);
  return ghostDocument(routing, vhosts, peerSection(routing, index, self), backends);
}

/**
 * The key of a Service port in ghost.json's `backends` table: `namespace/name:port`, then its TLS settings (a
 * BackendTLSPolicy's, which change its resolution) as JSON. Every key holds a `/`, which no vhost key does.
 *
 * @param backend The routing.json backend group.
 * @returns The key, or undefined for a group naming no Service.
 */
export function portKey(backend: RoutingBackend): string | undefined {
  if (backend.service === undefined) return undefined;
  const { namespace, name, port } = backend.service;
  return `${namespace}/${name}:${port}${backend.tls ? JSON.stringify(backend.tls) : ""}`;
}

/**
 * `namespace/name` of the Service a backend group names.
 *
 * @param backend A routing.json backend group naming a Service.
 * @returns The Service's key in the endpoints index.
 */
export function serviceKey(backend: RoutingBackend): string {
  return `${backend.service!.namespace}/${backend.service!.name}`;
}

/**
 * The `backends` table entry of a resolved Service port: its endpoints, error and transport.
 *
 * @param resolved The port resolved ({@linkcode resolveServicePort}).
 * @returns The entry.
 */
export function backendEntry(resolved: GhostBackend): GhostBackendEntry {
  const { endpoints, error, transport } = resolved;
  return { endpoints, ...(error === undefined ? {} : { error }), ...(transport === undefined ? {} : { transport }) };
}

/**
 * A backend group naming the `backends` entry `key` instead of holding its endpoints: an endpoint change is then that
 * one entry, whatever the number of groups naming it.
 *
 * @param resolved The port resolved (for its name).
 * @param backend The routing.json group (weight and filters).
 * @param key The entry's key ({@linkcode portKey}).
 * @returns The ghost.json group.
 */
export function keyedGroup(resolved: GhostBackend, backend: RoutingBackend, key: string): GhostBackend {
  return { weight: backend.weight, name: resolved.name, endpoints: [], backend: key, filters: backend.filters };
}

/** Resolves a routing.json backend group against one cluster state. */
export type BackendResolver = (backend: RoutingBackend) => GhostBackend;

/**
 * Makes the resolver of backend groups for one cluster state; each Service port is resolved once, however many
 * backend groups name it.
 *
 * @param index The cluster state by Service.
 * @param options The Gateway's backend client certificate, and routing.json's CA bundles.
 * @returns The resolver.
 */
function backendResolver(
  index: EndpointsIndex,
  options: { clientCertificate?: GhostClientCertificate; bundles: ReadonlyMap<string, string> },
): BackendResolver {
  const resolved = new Map<string, GhostBackend>();
  return (named) => {
    const backend = inlineCaBundle(named, options.bundles);
    if (backend.service === undefined) return withGroup(resolveServicePort(backend, undefined, undefined), backend);
    const { namespace, name, port } = backend.service;
    const key = `${namespace}/${name}:${port}`;
    let found = resolved.get(key);
    if (found === undefined) {
      found = resolveServicePort(backend, index.get(`${namespace}/${name}`), options.clientCertificate);
      resolved.set(key, found);
    }
    return withGroup(found, backend);
  };
}

/**
 * One vhost of ghost.json: the routing.json vhost with each backend group resolved.
 *
 * @param vhost The routing.json vhost.
 * @param resolve The backend resolver of the current cluster state.
 * @param resolveMirror The resolver of mirror groups, which hold their endpoints inline (ghost sends their copies
 *   itself). @default {resolve}
 * @returns The ghost.json vhost.
 */
export function mergeVhost(
  vhost: RoutingJson["vhosts"][string],
  resolve: BackendResolver,
  resolveMirror: BackendResolver = resolve,
): GhostJson["vhosts"][string] {
  return {
    routes: vhost.routes.map((route) => ({
      id: route.id,
      created: route.created,
      listeners: route.listeners,
      matches: route.matches,
      filters: route.filters,
      backends: route.backends.map(resolve),
      ...(route.mirrors ? { mirrors: route.mirrors.map((m) => ({ ...m, backend: resolveMirror(m.backend) })) } : {}),
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
 * @param backends The `backends` table (version 2), written in key order. @default {none}
 * @returns The ghost.json document.
 */
export function ghostDocument(
  routing: RoutingJson,
  vhosts: GhostJson["vhosts"],
  peers?: GhostCluster,
  backends: Record<string, GhostBackendEntry> = {},
): GhostJson {
  const { listeners, cachePolicies, requests } = routing;
  const keys = Object.keys(backends).sort();
  return {
    version: GHOST_JSON_VERSION,
    listeners,
    ...(cachePolicies ? { cachePolicies } : {}),
    // the contract's order; sorted, so that the text depends on the state only, not on the order of first use
    ...(keys.length > 0 ? { backends: Object.fromEntries(keys.map((k) => [k, backends[k]])) } : {}),
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
 * @param index The cluster state by Service.
 * @param self This pod's identity.
 * @returns The section, if any.
 */
export function peerSection(
  routing: { cluster?: RoutingJson["cluster"] },
  index: EndpointsIndex,
  self: PeerIdentity | undefined,
): GhostCluster | undefined {
  if (!routing.cluster || !self) return undefined;
  const { namespace, name } = routing.cluster.service;
  const addresses = new Set<string>();
  for (const slice of trustedSlices(index.get(`${namespace}/${name}`))) {
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
 * referencedNamespaces([parseRoutingJson('{"version": 1, "vhosts": {}}')]); // []
 * ```
 *
 * @param shards The parsed routing.json, or its parsed shards.
 * @returns The namespaces.
 */
export function referencedNamespaces(shards: RoutingJson | readonly RoutingJson[]): string[] {
  const namespaces = new Set<string>();
  for (const shard of Array.isArray(shards) ? shards : [shards]) {
    for (const namespace of documentNamespaces(shard)) namespaces.add(namespace);
  }
  return [...namespaces].sort();
}

/** The namespaces of one document, once per document: parsed documents are not changed, and unchanged shards keep theirs. */
const namespacesOfDocument = new WeakMap<RoutingJson, string[]>();

function documentNamespaces(doc: RoutingJson): string[] {
  let namespaces = namespacesOfDocument.get(doc);
  if (namespaces === undefined) {
    const set = new Set<string>();
    for (const vhost of Object.values(doc.vhosts)) {
      for (const route of vhost.routes) {
        for (const backend of [...route.backends, ...(route.mirrors ?? []).map((m) => m.backend)]) {
          if (backend.service) set.add(backend.service.namespace);
        }
      }
    }
    if (doc.cluster) set.add(doc.cluster.service.namespace);
    namespacesOfDocument.set(doc, namespaces = [...set]);
  }
  return namespaces;
}
