/**
 * The names, ports, keys and annotations of Lacquer's objects and sockets, as constants shared by the operator and the
 * chaperone.
 *
 * Both sides import these; neither spells a name as a literal of its own, so the two cannot drift apart.
 *
 * @module
 */
import { contentHash } from "./content_hash.ts";

/** The API group of Lacquer's own CRDs and annotations. */
export const LACQUER_GROUP = "lacquer.dev";

/** The `spec.controllerName` of GatewayClasses that Lacquer manages. */
export const CONTROLLER_NAME = "lacquer.dev/gateway-controller";

/** The suffix of a Gateway's ConfigMap and ServiceAccount names: `<gateway>-lacquer`. */
export const CHILD_SUFFIX = "-lacquer";

/** ConfigMap data key of the VCL that varnishd loads. */
export const MAIN_VCL_KEY = "main.vcl";

/** ConfigMap data key of routing.json (plain text). */
export const ROUTING_JSON_KEY = "routing.json";

/**
 * ConfigMap binaryData key of a gzip-compressed routing.json, used instead of {@linkcode ROUTING_JSON_KEY} when the
 * document is too large for a ConfigMap in plain text. Exactly one of the two keys is present.
 */
export const ROUTING_JSON_GZ_KEY = "routing.json.gz";

/**
 * ConfigMap data key of routing-shards.json, which stands for routing.json when a large one is stored in shards
 * (`ghost/contract/routing_shards.ts`): it names the shard ConfigMaps ({@linkcode routingShardPrefix}) of the current
 * generation and their hashes.
 */
export const ROUTING_SHARDS_KEY = "routing-shards.json";

/**
 * Pod annotation in which the chaperone publishes the hash of the routing.json it has live: `sha256:<hex>` of the
 * routing.json bytes (after gunzip when the ConfigMap carries {@linkcode ROUTING_JSON_GZ_KEY}), or of the
 * routing-shards.json bytes when it is stored in shards (the manifest names each shard's hash). See
 * `contentHash` in `internal/content_hash.ts`.
 */
export const APPLIED_ROUTING_ANNOTATION = "lacquer.dev/applied-routing-hash";

/**
 * Annotation of a Gateway's ConfigMap: the sequence number of its routing generation (milliseconds since the epoch
 * when the operator wrote it, or one more than the last when that is not later). The same number comes with the
 * generation's push to the gateway pods (`internal/routing_push.ts`), so a pod can tell which of the pushed and the
 * watched generation is the newer.
 */
export const ROUTING_SEQUENCE_ANNOTATION = "lacquer.dev/routing-sequence";

/** The chaperone's admin path that takes a routing generation pushed by the operator (`internal/routing_push.ts`). */
export const ROUTING_PUSH_PATH = "/routing";

/** Pod annotation in which the chaperone publishes the hash of the main.vcl it has live (`sha256:<hex>`). */
export const APPLIED_VCL_ANNOTATION = "lacquer.dev/applied-vcl-hash";

/** Pod template annotation whose change rolls the gateway pods (infrastructure changes only). */
export const INFRA_HASH_ANNOTATION = "lacquer.dev/infra-hash";

/** Label on every child object Lacquer creates. */
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";

/** Value of {@linkcode MANAGED_BY_LABEL}. */
export const MANAGED_BY_VALUE = "lacquer";

/** Label naming the Gateway a child object belongs to. */
export const GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name";

/** The chaperone's admin HTTP port (`/healthz`, `/readyz`, `/metrics`, `/drain`, `/invalidate`, `/routing`). */
export const CHAPERONE_ADMIN_PORT = 8901;

/** The Varnish CLI port, bound on loopback only. */
export const VARNISH_CLI_PORT = 6082;

/** The ghost control socket port (`-a ghost=127.0.0.1:6091`), loopback only. */
export const GHOST_CONTROL_PORT = 6091;

/** The varnishd socket name of the ghost control listener. */
export const GHOST_SOCKET_NAME = "ghost";

/**
 * The port of the clustered cache's peer listener (`-a peer=:6092`): gateway pods fetch the objects another pod owns
 * from it, signed with the Gateway's peer secret. No Service exposes it.
 */
export const GHOST_PEER_PORT = 6092;

/** The varnishd socket name of the peer listener. */
export const GHOST_PEER_SOCKET_NAME = "peer";

/** The path on the ghost control socket that reloads ghost.json. */
export const GHOST_RELOAD_PATH = "/.varnish-ghost/reload";

/** The path on the ghost control socket that answers the cache counters of every cached rule (JSON). */
export const GHOST_STATS_PATH = "/.varnish-ghost/stats";

/** The path on the ghost control socket after which every answer closes its client connection (a drain). */
export const GHOST_DRAIN_PATH = "/.varnish-ghost/drain";

/** Where the chaperone writes ghost.json inside a gateway pod. */
export const GHOST_JSON_PATH = "/var/run/lacquer/ghost.json";

/**
 * varnishd's `-n` directory inside a gateway pod (the chaperone's work directory plus `varnishd`): its shared-memory
 * log and counters and the compiled VCLs. A memory-backed volume of its own (see operator/children.ts).
 */
export const VARNISHD_INSTANCE_DIR = "/var/run/lacquer/varnishd";

/** The directory in a gateway pod where the Gateway's admin token Secret is mounted, read-only. */
export const ADMIN_TOKEN_DIR = "/var/run/lacquer/admin";

/** The data key of the admin token in a Gateway's admin token Secret (and the file name below {@linkcode ADMIN_TOKEN_DIR}). */
export const ADMIN_TOKEN_KEY = "token";

/** The file a gateway pod's chaperone reads its admin token from. */
export const ADMIN_TOKEN_PATH = `${ADMIN_TOKEN_DIR}/${ADMIN_TOKEN_KEY}`;

/**
 * The directory of a gateway pod's socket keeper (`ghost/keeper`), an `emptyDir` shared by the keeper's sidecar and the
 * gateway container.
 */
export const KEEPER_DIR = "/var/run/lacquer-keeper";

/** The keeper's Unix socket, where varnishd's shim asks for the listening sockets it keeps. */
export const KEEPER_SOCKET = `${KEEPER_DIR}/keeper.sock`;

/** The keeper program in the gateway image. */
export const KEEPER_PROGRAM = "/usr/local/bin/lacquer-keeper";

/** The non-root user (and group) id the Lacquer images run as: distroless's `nonroot`. */
export const LACQUER_UID = 65532;

/** The operator's metrics port. */
export const OPERATOR_METRICS_PORT = 8080;

/** The operator's health port. */
export const OPERATOR_HEALTH_PORT = 8081;

/** The operator's invalidation API port (Service `lacquer-invalidation`). */
export const OPERATOR_INVALIDATION_PORT = 8082;

/** Annotation holding the Gateway's name on children whose {@linkcode GATEWAY_NAME_LABEL} had to be shortened. */
export const GATEWAY_NAME_ANNOTATION = "lacquer.dev/gateway-name";

/** The most characters of a label value, and of a DNS label (Service names). */
const DNS_LABEL_MAX = 63;

/** The most characters of a DNS subdomain (most object names). */
const DNS_SUBDOMAIN_MAX = 253;

/** The longest suffix Lacquer appends to a Gateway's name for a child in its namespace. */
const LONGEST_CHILD_SUFFIX = `${CHILD_SUFFIX}-admin`;

/**
 * `name` when it has at most `max` characters; else its first characters (without a trailing `-` or `.`, which may
 * not end a name) and `-` and 8 hex digits of the hash of `identity`, `max` characters at most. Stable, and distinct
 * for distinct identities but for a hash collision, which the child writer's ownership check reports.
 *
 * @example Usage
 * ```ts
 * import { boundedName } from "./names.ts";
 * boundedName("short", 63, "ns/short"); // "short"
 * boundedName("x".repeat(70), 63, "ns/x").length; // 63
 * ```
 *
 * @param name The name wanted.
 * @param max The most characters allowed.
 * @param identity What the name stands for, hashed when it is cut.
 * @returns The name, cut with a hash when too long.
 */
export function boundedName(name: string, max: number, identity: string = name): string {
  return name.length <= max ? name : withHash(name, max, identity);
}

/** The first characters of `name` (no trailing `-` or `.`), `-` and 8 hex digits of `identity`'s hash: `max` at most. */
function withHash(name: string, max: number, identity: string): string {
  const hash = contentHash(identity).slice("sha256:".length, "sha256:".length + 8);
  return `${name.slice(0, max - hash.length - 1).replace(/[-.]+$/, "")}-${hash}`;
}

/** A DNS-1035 label: what a Service name must be. */
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * Returns the name of a Gateway's Deployment, Service, NetworkPolicy and PodDisruptionBudget: the Gateway's name when
 * it is a DNS-1035 label (what a Service name must be), else one made of it (dots turned to `-`, a leading digit
 * prefixed with `gw-`, cut to 63 characters) that ends in a hash of the name, so any valid Gateway name works.
 *
 * @example Usage
 * ```ts
 * import { gatewayObjectName } from "./names.ts";
 * gatewayObjectName("shop"); // "shop"
 * gatewayObjectName("shop.v2").startsWith("shop-v2-"); // true
 * ```
 *
 * @param gateway The Gateway's name.
 * @returns The object name.
 */
export function gatewayObjectName(gateway: string): string {
  if (DNS_1035_LABEL.test(gateway)) return gateway;
  const label = `${/^[a-z]/.test(gateway) ? "" : "gw-"}${gateway.replaceAll(".", "-")}`;
  // Always hashed: `a.b` and `a-b` both become `a-b`.
  return withHash(label, DNS_LABEL_MAX, gateway);
}

/**
 * Returns the value of {@linkcode GATEWAY_NAME_LABEL} for a Gateway: its name, cut with a hash past the 63 characters
 * a label value may hold (children then also carry the whole name in {@linkcode GATEWAY_NAME_ANNOTATION}).
 *
 * @example Usage
 * ```ts
 * import { gatewayLabelValue } from "./names.ts";
 * gatewayLabelValue("gw"); // "gw"
 * ```
 *
 * @param gateway The Gateway's name.
 * @returns The label value.
 */
export function gatewayLabelValue(gateway: string): string {
  return boundedName(gateway, DNS_LABEL_MAX);
}

/**
 * The name of the Gateway an object of Lacquer's belongs to: its {@linkcode GATEWAY_NAME_ANNOTATION}, else its
 * {@linkcode GATEWAY_NAME_LABEL}.
 *
 * @example Usage
 * ```ts
 * import { GATEWAY_NAME_LABEL, gatewayNameOf } from "./names.ts";
 * gatewayNameOf({ labels: { [GATEWAY_NAME_LABEL]: "gw" } }); // "gw"
 * ```
 *
 * @param metadata The object's metadata.
 * @returns The Gateway's name, when the object names one.
 */
export function gatewayNameOf(
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string> },
): string | undefined {
  return metadata.annotations?.[GATEWAY_NAME_ANNOTATION] ?? metadata.labels?.[GATEWAY_NAME_LABEL];
}

/**
 * Returns the base of a Gateway's child names in its namespace: its name, cut with a hash when the longest child
 * name (`<gateway>-lacquer-admin`) would pass the 253 characters an object name may hold.
 *
 * @param gateway The Gateway's name.
 * @returns The base.
 */
function childBase(gateway: string): string {
  return boundedName(gateway, DNS_SUBDOMAIN_MAX - LONGEST_CHILD_SUFFIX.length);
}

/**
 * Returns the name of a Gateway's ConfigMap (and ServiceAccount): `<gateway>-lacquer`.
 *
 * @example Usage
 * ```ts
 * import { gatewayChildName } from "./names.ts";
 * gatewayChildName("gw"); // "gw-lacquer"
 * ```
 *
 * @param gateway The Gateway's name.
 * @returns The child object name.
 */
export function gatewayChildName(gateway: string): string {
  return `${childBase(gateway)}${CHILD_SUFFIX}`;
}

/**
 * Returns the prefix of the names of a Gateway's routing.json shards: shard `k` is `<gateway>-lacquer-r<k>` (at most
 * 253 characters for the 4,096 shards a Gateway may have). The manifest names shards by number after this prefix.
 *
 * @example Usage
 * ```ts
 * import { routingShardPrefix } from "./names.ts";
 * routingShardPrefix("gw") + 3; // "gw-lacquer-r3"
 * ```
 *
 * @param gateway The Gateway's name.
 * @returns The prefix of its shard ConfigMaps' names.
 */
export function routingShardPrefix(gateway: string): string {
  return `${gatewayChildName(gateway)}-r`;
}

/**
 * Label on every routing.json shard ConfigMap of a Gateway, and only on those, whose value is
 * {@linkcode routingShardsLabelValue} of the Gateway's ConfigMap name: what the chaperone, which knows that name, watches
 * its shards by.
 */
export const ROUTING_SHARDS_OF_LABEL = "lacquer.dev/routing-shards-of";

/**
 * Returns the {@linkcode ROUTING_SHARDS_OF_LABEL} value of the shards of a Gateway's ConfigMap: its name, or one cut to
 * the 63 characters of a label value and ended with a hash of the whole name.
 *
 * @example Usage
 * ```ts
 * import { routingShardsLabelValue } from "./names.ts";
 * routingShardsLabelValue("gw-lacquer"); // "gw-lacquer"
 * ```
 *
 * @param configMap The Gateway's ConfigMap name (`gatewayChildName`).
 * @returns The label value.
 */
export function routingShardsLabelValue(configMap: string): string {
  return boundedName(configMap, DNS_LABEL_MAX);
}

/**
 * Returns the varnishd socket name of a listener port: `port-<n>`. Listeners sharing a port share the socket.
 *
 * @example Usage
 * ```ts
 * import { listenerSocketName } from "./names.ts";
 * listenerSocketName(80); // "port-80"
 * ```
 *
 * @param port The listener port.
 * @returns The socket name used in `-a <name>=:<port>` and in routing.json `listeners[].socket`.
 */
export function listenerSocketName(port: number): string {
  return `port-${port}`;
}

/** The suffix of a Gateway's TLS Secret name: `<gateway>-lacquer-tls`. */
export const TLS_SECRET_SUFFIX = "-lacquer-tls";

/**
 * Returns the name of a Gateway's TLS Secret, which holds the certificate bundles of its HTTPS listeners in the
 * Gateway's own namespace: `<gateway>-lacquer-tls`.
 *
 * @example Usage
 * ```ts
 * import { tlsSecretName } from "./names.ts";
 * tlsSecretName("gw"); // "gw-lacquer-tls"
 * ```
 *
 * @param gateway The Gateway's name.
 * @returns The Secret's name.
 */
export function tlsSecretName(gateway: string): string {
  return `${childBase(gateway)}${TLS_SECRET_SUFFIX}`;
}

/**
 * Returns the TLS Secret key of one certificate bundle (private key and certificate chain, PEM) of an HTTPS
 * listener: `<socket>.<listener>.pem`, and `<socket>.<listener>_<n>.pem` for its certificateRefs after the first.
 * Without a listener it is the key of the socket's default bundle, `<socket>.pem` (served to clients whose SNI
 * matches no certificate). Listener and socket names hold no `_`, so keys never collide.
 *
 * @example Usage
 * ```ts
 * import { tlsBundleKey } from "./names.ts";
 * tlsBundleKey("port-443", "https"); // "port-443.https.pem"
 * tlsBundleKey("port-443", "https", 1); // "port-443.https_1.pem"
 * tlsBundleKey("port-443"); // "port-443.pem"
 * ```
 *
 * @param socket The socket name of the listener's port.
 * @param listener The listener's name; none for the default bundle.
 * @param index The position of the certificateRef. @default {0}
 * @returns The Secret data key.
 */
export function tlsBundleKey(socket: string, listener?: string, index = 0): string {
  if (listener === undefined) return `${socket}.pem`;
  return index === 0 ? `${socket}.${listener}.pem` : `${socket}.${listener}_${index}.pem`;
}

/**
 * Returns the TLS Secret keys of a socket's client certificate validation: `ca` holds the CA certificates (PEM)
 * that client certificates are verified against, `verify` the hitch `client-verify` setting (`required` or
 * `optional`). They end in neither `.pem` nor a listener name, so they never collide with certificate bundles.
 *
 * @example Usage
 * ```ts
 * import { clientVerifyKeys } from "./names.ts";
 * clientVerifyKeys("port-443"); // { ca: "port-443.client-ca.crt", verify: "port-443.client-verify" }
 * ```
 *
 * @param socket The socket name of the listener port.
 * @returns The two keys.
 */
export function clientVerifyKeys(socket: string): { ca: string; verify: string } {
  return { ca: `${socket}.client-ca.crt`, verify: `${socket}.client-verify` };
}

/**
 * The TLS Secret keys of the Gateway's backend client certificate (`spec.tls.backend.clientCertificateRef`), which
 * ghost presents to TLS backends: its certificate chain and private key, PEM. No listener or socket name makes them.
 */
export const BACKEND_CLIENT_CERTIFICATE_KEYS = {
  certificate: "backend-client.crt",
  key: "backend-client.key",
} as const;

/**
 * MetalLB's annotation listing the addresses a LoadBalancer Service asks for; the operator sets it when a Gateway
 * requests more than one address (one goes in `spec.loadBalancerIP`, which MetalLB refuses alongside it).
 */
export const LB_IPS_ANNOTATION = "metallb.universe.tf/loadBalancerIPs";

/**
 * Service condition by which a load balancer says whether it could assign the addresses the Service asks for
 * (status False: why not); the local cluster's load balancer writes it, the operator reports it on the Gateway.
 */
export const LB_ADDRESSES_CONDITION = "lacquer.dev/LoadBalancerAddresses";
