/**
 * The names, ports, keys and annotations of Lacquer's objects and sockets, as constants shared by the operator and the
 * chaperone.
 *
 * Both sides import these; neither spells a name as a literal of its own, so the two cannot drift apart.
 *
 * @module
 */

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
 * Pod annotation in which the chaperone publishes the hash of the routing.json it has live: `sha256:<hex>` of the
 * routing.json bytes (after gunzip when the ConfigMap carries {@linkcode ROUTING_JSON_GZ_KEY}). See
 * `contentHash` in `internal/content_hash.ts`.
 */
export const APPLIED_ROUTING_ANNOTATION = "lacquer.dev/applied-routing-hash";

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

/** The chaperone's admin HTTP port (`/healthz`, `/readyz`, `/metrics`, `/drain`, `/invalidate`). */
export const CHAPERONE_ADMIN_PORT = 8901;

/** The Varnish CLI port, bound on loopback only. */
export const VARNISH_CLI_PORT = 6082;

/** The ghost control socket port (`-a ghost=127.0.0.1:6091`), loopback only. */
export const GHOST_CONTROL_PORT = 6091;

/** The varnishd socket name of the ghost control listener. */
export const GHOST_SOCKET_NAME = "ghost";

/** The path on the ghost control socket that reloads ghost.json. */
export const GHOST_RELOAD_PATH = "/.varnish-ghost/reload";

/** The path on the ghost control socket that answers the cache counters of every cached rule (JSON). */
export const GHOST_STATS_PATH = "/.varnish-ghost/stats";

/** The path on the ghost control socket after which every answer closes its client connection (a drain). */
export const GHOST_DRAIN_PATH = "/.varnish-ghost/drain";

/** Where the chaperone writes ghost.json inside a gateway pod. */
export const GHOST_JSON_PATH = "/var/run/lacquer/ghost.json";

/** The directory in a gateway pod where the Gateway's admin token Secret is mounted, read-only. */
export const ADMIN_TOKEN_DIR = "/var/run/lacquer/admin";

/** The data key of the admin token in a Gateway's admin token Secret (and the file name below {@linkcode ADMIN_TOKEN_DIR}). */
export const ADMIN_TOKEN_KEY = "token";

/** The file a gateway pod's chaperone reads its admin token from. */
export const ADMIN_TOKEN_PATH = `${ADMIN_TOKEN_DIR}/${ADMIN_TOKEN_KEY}`;

/** The non-root user (and group) id the Lacquer images run as: distroless's `nonroot`. */
export const LACQUER_UID = 65532;

/** The operator's metrics port. */
export const OPERATOR_METRICS_PORT = 8080;

/** The operator's health port. */
export const OPERATOR_HEALTH_PORT = 8081;

/** The operator's invalidation API port (Service `lacquer-invalidation`). */
export const OPERATOR_INVALIDATION_PORT = 8082;

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
  return `${gateway}${CHILD_SUFFIX}`;
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
  return `${gateway}${TLS_SECRET_SUFFIX}`;
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
