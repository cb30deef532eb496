/**
 * Validation of a Gateway's listeners: protocol, port, conflicts on a shared port, route kinds, TLS
 * certificate references and the CA certificates of client certificate validation (`frontend_validation.ts`), each problem with the spec's reason (`apis/v1/gateway_types.go`,
 * ListenerConditionType); `status/listener.ts` turns them into conditions.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { X509Certificate } from "node:crypto";
import { CHAPERONE_ADMIN_PORT, GHOST_CONTROL_PORT, listenerSocketName, VARNISH_CLI_PORT } from "../internal/names.ts";
import { type Gateway, GATEWAY_GROUP, type Listener } from "./api_types.ts";
import { type CaRefReason, type PortValidation, validateFrontend } from "./frontend_validation.ts";
import { sameListenerHostname } from "./hostnames.ts";
import { keyOf, referenceAllowed, type SnapshotIndex } from "./snapshot_index.ts";

/** A route kind a listener supports. */
export interface RouteGroupKind {
  /** API group. */
  group: string;
  /** Kind. */
  kind: string;
}

/** A problem found with a listener: the spec's reason for its condition, and the condition's message. */
export interface ListenerProblem<R extends string> {
  /** The spec's reason. */
  reason: R;
  /** What is wrong, naming the object. */
  message: string;
}

/**
 * The validated view of one listener: the facts its status is computed from (`status/listener.ts`) and what the
 * data plane needs.
 */
export interface ListenerResult {
  /** The listener as declared. */
  listener: Listener;
  /** The varnishd socket name of its port. */
  socket: string;
  /** True when routes may attach to it (valid protocol, port, no conflict, a supported route kind). */
  attachable: boolean;
  /** True when it is also configured in the data plane (attachable, and its certificates are usable). */
  usable: boolean;
  /** The route kinds it supports (only those we implement). */
  supportedKinds: RouteGroupKind[];
  /** Why it is not accepted (`Accepted=False`), when it is not (a ListenerSet's listener: also for a conflict). */
  notAccepted?: ListenerProblem<
    | "UnsupportedProtocol"
    | "PortUnavailable"
    | "UnsupportedValue"
    | "NoValidCACertificate"
    | "ProtocolConflict"
    | "HostnameConflict"
  >;
  /** Its conflict with another listener on the same port (`Conflicted=True`), if any. */
  conflicted?: ListenerProblem<"ProtocolConflict" | "HostnameConflict">;
  /** Why its references are not resolved (`ResolvedRefs=False`), if so. */
  refsNotResolved?: ListenerProblem<"InvalidRouteKinds" | "RefNotPermitted" | "InvalidCertificateRef" | CaRefReason>;
  /** How an HTTPS listener verifies client certificates (`spec.tls.frontend`), when it does. */
  frontend?: PortValidation;
  /** Why it is not usable, for the Programmed condition. */
  problem?: string;
  /** The ListenerSet that declares it (`listener.name` is then unique to the Gateway, `name` as declared). */
  listenerSet?: { key: string; namespace: string; name: string };
}

const SUPPORTED_PROTOCOLS = new Set(["HTTP", "HTTPS"]);
const RESERVED_PORTS = new Set([CHAPERONE_ADMIN_PORT, VARNISH_CLI_PORT, GHOST_CONTROL_PORT]);
const HTTP_ROUTE: RouteGroupKind = { group: GATEWAY_GROUP, kind: "HTTPRoute" };

function decode(value: string | undefined): string {
  return value === undefined ? "" : Buffer.from(value, "base64").toString("utf8");
}

/** The object that declares a listener: a Gateway, or a ListenerSet that adds listeners to one. */
export interface ListenerOwner {
  /** `Gateway` or `ListenerSet` (the `from` kind of the ReferenceGrants its certificateRefs need). */
  kind: "Gateway" | "ListenerSet";
  /** Its namespace (the default of its certificateRefs' namespaces). */
  namespace: string;
}

function certificateProblem(index: SnapshotIndex, owner: ListenerOwner, listener: Listener): string | undefined {
  const ns = owner.namespace;
  const refs = listener.tls?.certificateRefs ?? [];
  if (listener.protocol === "HTTPS" && refs.length === 0) return "HTTPS listener has no certificateRefs";
  for (const ref of refs) {
    if (ref.group !== "" || ref.kind !== "Secret") {
      return `certificateRef to ${ref.group || "core"}/${ref.kind} "${ref.name}" is not supported: only Secrets are`;
    }
    const secretNs = ref.namespace ?? ns;
    const secret = index.secrets.get(keyOf(secretNs, ref.name));
    if (!secret) return `Secret "${secretNs}/${ref.name}" not found`;
    const crt = decode(secret.data["tls.crt"]);
    const key = decode(secret.data["tls.key"]);
    if (!crt.includes("-----BEGIN CERTIFICATE-----") || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) {
      return `Secret "${secretNs}/${ref.name}" does not hold a PEM certificate and private key in tls.crt and tls.key`;
    }
    try {
      new X509Certificate(crt);
    } catch {
      return `Secret "${secretNs}/${ref.name}" holds a certificate that does not parse`;
    }
  }
  return undefined;
}

function certificateRefNotPermitted(
  index: SnapshotIndex,
  owner: ListenerOwner,
  listener: Listener,
): string | undefined {
  const ns = owner.namespace;
  for (const ref of listener.tls?.certificateRefs ?? []) {
    const secretNs = ref.namespace ?? ns;
    if (ref.group !== "" || ref.kind !== "Secret" || secretNs === ns) continue;
    const allowed = referenceAllowed(
      index,
      { group: GATEWAY_GROUP, kind: owner.kind, namespace: ns },
      { group: "", kind: "Secret", namespace: secretNs, name: ref.name },
    );
    if (!allowed) return `certificateRef to Secret "${secretNs}/${ref.name}" is not permitted by any ReferenceGrant`;
  }
  return undefined;
}

function routeKinds(listener: Listener): { supported: RouteGroupKind[]; invalid: string[] } {
  // HTTPRoute is a kind of HTTP and HTTPS listeners only: on another protocol every listed kind is invalid.
  const http = SUPPORTED_PROTOCOLS.has(listener.protocol);
  if (!listener.allowedRoutes.kinds) return { supported: http ? [HTTP_ROUTE] : [], invalid: [] };
  const supported: RouteGroupKind[] = [];
  const invalid: string[] = [];
  for (const k of listener.allowedRoutes.kinds) {
    if (http && k.group === GATEWAY_GROUP && k.kind === "HTTPRoute") {
      if (supported.length === 0) supported.push(HTTP_ROUTE);
    } else invalid.push(`${k.group}/${k.kind}`);
  }
  return { supported, invalid };
}

function acceptanceProblem(
  listener: Listener,
): { reason: NonNullable<ListenerResult["notAccepted"]>["reason"]; text: string } | undefined {
  if (!SUPPORTED_PROTOCOLS.has(listener.protocol)) {
    return {
      reason: "UnsupportedProtocol",
      text: `protocol "${listener.protocol}" is not supported: use HTTP or HTTPS`,
    };
  }
  if (RESERVED_PORTS.has(listener.port)) {
    return { reason: "PortUnavailable", text: `port ${listener.port} is reserved by the gateway pod` };
  }
  if (listener.protocol === "HTTPS" && listener.tls?.mode === "Passthrough") {
    return { reason: "UnsupportedValue", text: `TLS mode "Passthrough" is not supported on HTTPS listeners` };
  }
  return undefined;
}

/**
 * The name a ListenerSet's listener has inside the Gateway: listener names need only be unique per Gateway and per
 * ListenerSet, and `_` occurs in no declared name (nor in a namespace or ListenerSet name), so this never meets a
 * name of the Gateway's own.
 *
 * @param listenerSet The ListenerSet's `namespace/name`.
 * @param name The listener's declared name.
 * @returns The merged name.
 */
export function mergedListenerName(listenerSet: string, name: string): string {
  return `${listenerSet.replace("/", "_")}_${name}`;
}

/** Names a listener in messages: `"http"`, or `"web" of ListenerSet "ns/name"` for a merged name. */
function describeListener(name: string): string {
  const [namespace, listenerSet, declared] = name.split("_");
  return declared === undefined ? `"${name}"` : `"${declared}" of ListenerSet "${namespace}/${listenerSet}"`;
}

function conflictOf(listener: Listener, listeners: readonly Listener[]): ListenerResult["conflicted"] {
  const samePort = listeners.filter((other) => other !== listener && other.port === listener.port);
  const protocolClash = samePort.find((other) => other.protocol !== listener.protocol);
  if (protocolClash) {
    return {
      reason: "ProtocolConflict",
      message: `Listener shares port ${listener.port} with listener ${
        describeListener(protocolClash.name)
      } of protocol ${protocolClash.protocol}`,
    };
  }
  const hostnameClash = samePort.find((other) =>
    other.protocol === listener.protocol && sameListenerHostname(other.hostname, listener.hostname)
  );
  if (hostnameClash) {
    return {
      reason: "HostnameConflict",
      message: `Listener has the same port and hostname as listener ${describeListener(hostnameClash.name)}`,
    };
  }
  return undefined;
}

/** The first problem with an HTTPS listener's certificateRefs: a reference no grant permits comes first. */
function certificateIssue(
  listener: Listener,
  owner: ListenerOwner,
  index: SnapshotIndex,
): ListenerProblem<"RefNotPermitted" | "InvalidCertificateRef"> | undefined {
  if (listener.protocol !== "HTTPS") return undefined;
  const notPermitted = certificateRefNotPermitted(index, owner, listener);
  if (notPermitted) return { reason: "RefNotPermitted", message: notPermitted };
  const invalid = certificateProblem(index, owner, listener);
  return invalid === undefined ? undefined : { reason: "InvalidCertificateRef", message: invalid };
}

/**
 * Validates one listener.
 *
 * @param listener The listener.
 * @param gateway The Gateway it serves on (its client certificate validation applies to every listener).
 * @param owner Who declares it.
 * @param index Lookups for Secrets and ReferenceGrants.
 * @param others The listeners it must not conflict with.
 * @returns The validated listener.
 */
export function validateListener(
  listener: Listener,
  gateway: Gateway,
  owner: ListenerOwner,
  index: SnapshotIndex,
  others: readonly Listener[],
): ListenerResult {
  const kinds = routeKinds(listener);
  const conflicted = conflictOf(listener, others);
  // A ListenerSet's listener that conflicts with one of higher precedence is not accepted, for that reason.
  const acceptance = owner.kind === "ListenerSet" && conflicted
    ? { reason: conflicted.reason, text: conflicted.message.replace(/^Listener /, "") }
    : acceptanceProblem(listener);
  const certificate = certificateIssue(listener, owner, index);
  const frontend = listener.protocol === "HTTPS" ? validateFrontend(gateway, listener.port, index) : undefined;
  // Without a usable CA the listener cannot verify clients, so it is not served at all (never without verification).
  const noValidCa = frontend?.caBundle === ""
    ? `no valid CA certificate for client certificate validation: ${
      frontend.problem?.message ?? "no caCertificateRefs"
    }`
    : undefined;
  const supportedKinds = kinds.supported;
  const refsNotResolved: ListenerResult["refsNotResolved"] = kinds.invalid.length > 0
    ? {
      reason: "InvalidRouteKinds",
      message: `Route kinds ${kinds.invalid.map((k) => `"${k}"`).join(", ")} are not supported${
        SUPPORTED_PROTOCOLS.has(listener.protocol) ? ": only HTTPRoute is" : ` on a ${listener.protocol} listener`
      }`,
    }
    : certificate ?? frontend?.problem;
  const notAttachable = acceptance?.text ??
    (conflicted ? "it conflicts with another listener" : undefined) ??
    (supportedKinds.length === 0 ? "it supports no route kind" : undefined);
  // Routes still attach to a listener whose certificate is unusable (attachedRoutes counts them, as the spec's
  // conformance tests expect), but it is not configured in the data plane.
  const problem = notAttachable ?? certificate?.message ?? noValidCa;
  return {
    listener,
    socket: listenerSocketName(listener.port),
    attachable: notAttachable === undefined,
    usable: problem === undefined,
    supportedKinds,
    ...(acceptance
      ? { notAccepted: { reason: acceptance.reason, message: `Listener ${acceptance.text}` } }
      : noValidCa
      ? { notAccepted: { reason: "NoValidCACertificate" as const, message: `Listener has ${noValidCa}` } }
      : {}),
    ...(conflicted ? { conflicted } : {}),
    ...(refsNotResolved ? { refsNotResolved } : {}),
    ...(frontend ? { frontend } : {}),
    ...(problem === undefined ? {} : { problem }),
  };
}

/**
 * Validates every listener of a Gateway.
 *
 * @example Usage
 * ```ts
 * import { validateListeners } from "./listeners.ts";
 * import { indexSnapshot } from "./snapshot_index.ts";
 * import { emptySnapshot } from "./snapshot.ts";
 * import { gatewaySchema } from "./api_types.ts";
 * const gw = gatewaySchema.parse({
 *   metadata: { name: "gw", namespace: "default" },
 *   spec: { gatewayClassName: "lacquer", listeners: [{ name: "http", port: 80, protocol: "HTTP" }] },
 * });
 * const [http] = validateListeners(gw, indexSnapshot(emptySnapshot(), "lacquer.dev/gateway-controller"));
 * // http.usable === true
 * ```
 *
 * @param gateway The Gateway.
 * @param index Lookups for Secrets and ReferenceGrants.
 * @returns One result per listener, in spec order.
 */
export function validateListeners(gateway: Gateway, index: SnapshotIndex): ListenerResult[] {
  const owner: ListenerOwner = { kind: "Gateway", namespace: gateway.metadata.namespace ?? "" };
  return gateway.spec.listeners.map((listener) =>
    validateListener(listener, gateway, owner, index, gateway.spec.listeners)
  );
}
