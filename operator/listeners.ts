/**
 * Validation of a Gateway's listeners: protocol, port, conflicts on a shared port, route kinds and TLS
 * certificate references, with the spec's reasons (`apis/v1/gateway_types.go`, ListenerConditionType).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { X509Certificate } from "node:crypto";
import { CHAPERONE_ADMIN_PORT, GHOST_CONTROL_PORT, listenerSocketName, VARNISH_CLI_PORT } from "../internal/names.ts";
import { type Gateway, GATEWAY_GROUP, type Listener } from "./api_types.ts";
import {
  listenerAccepted,
  listenerConflicted,
  listenerNoConflicts,
  listenerNotAccepted,
  listenerRefsNotResolved,
  listenerResolvedRefs,
  type NewCondition,
} from "./conditions.ts";
import { sameListenerHostname } from "./hostnames.ts";
import { keyOf, referenceAllowed, type SnapshotIndex } from "./snapshot_index.ts";

/** A route kind a listener supports. */
export interface RouteGroupKind {
  /** API group. */
  group: string;
  /** Kind. */
  kind: string;
}

/** The validated view of one listener. */
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
  /** Accepted, Conflicted and ResolvedRefs (Programmed is added once the data plane reports). */
  conditions: NewCondition[];
  /** Why it is not usable, for the Programmed condition. */
  problem?: string;
}

const SUPPORTED_PROTOCOLS = new Set(["HTTP", "HTTPS"]);
const RESERVED_PORTS = new Set([CHAPERONE_ADMIN_PORT, VARNISH_CLI_PORT, GHOST_CONTROL_PORT]);
const HTTP_ROUTE: RouteGroupKind = { group: GATEWAY_GROUP, kind: "HTTPRoute" };

function decode(value: string | undefined): string {
  return value === undefined ? "" : Buffer.from(value, "base64").toString("utf8");
}

function certificateProblem(index: SnapshotIndex, gateway: Gateway, listener: Listener): string | undefined {
  const ns = gateway.metadata.namespace ?? "";
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

function certificateRefNotPermitted(index: SnapshotIndex, gateway: Gateway, listener: Listener): string | undefined {
  const ns = gateway.metadata.namespace ?? "";
  for (const ref of listener.tls?.certificateRefs ?? []) {
    const secretNs = ref.namespace ?? ns;
    if (ref.group !== "" || ref.kind !== "Secret" || secretNs === ns) continue;
    const allowed = referenceAllowed(
      index,
      { group: GATEWAY_GROUP, kind: "Gateway", namespace: ns },
      { group: "", kind: "Secret", namespace: secretNs, name: ref.name },
    );
    if (!allowed) return `certificateRef to Secret "${secretNs}/${ref.name}" is not permitted by any ReferenceGrant`;
  }
  return undefined;
}

function routeKinds(listener: Listener): { supported: RouteGroupKind[]; invalid: string[] } {
  if (!listener.allowedRoutes.kinds) return { supported: [HTTP_ROUTE], invalid: [] };
  const supported: RouteGroupKind[] = [];
  const invalid: string[] = [];
  for (const k of listener.allowedRoutes.kinds) {
    if (k.group === GATEWAY_GROUP && k.kind === "HTTPRoute") {
      if (supported.length === 0) supported.push(HTTP_ROUTE);
    } else invalid.push(`${k.group}/${k.kind}`);
  }
  return { supported, invalid };
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
  const gen = gateway.metadata.generation;
  const listeners = gateway.spec.listeners;
  return listeners.map((listener) => {
    const conditions: NewCondition[] = [];
    let usable = true;
    let problem: string | undefined;
    const kinds = routeKinds(listener);
    const protocolOk = SUPPORTED_PROTOCOLS.has(listener.protocol);
    const supportedKinds = protocolOk ? kinds.supported : [];
    if (!protocolOk) {
      problem = `protocol "${listener.protocol}" is not supported: use HTTP or HTTPS`;
      conditions.push(listenerNotAccepted("UnsupportedProtocol", `Listener ${problem}`, gen));
    } else if (RESERVED_PORTS.has(listener.port)) {
      problem = `port ${listener.port} is reserved by the gateway pod`;
      conditions.push(listenerNotAccepted("PortUnavailable", `Listener ${problem}`, gen));
    } else if (listener.protocol === "HTTPS" && listener.tls?.mode === "Passthrough") {
      problem = `TLS mode "Passthrough" is not supported on HTTPS listeners`;
      conditions.push(listenerNotAccepted("UnsupportedValue", `Listener ${problem}`, gen));
    } else {
      conditions.push(listenerAccepted(gen));
    }
    if (problem) usable = false;

    const samePort = listeners.filter((other) => other !== listener && other.port === listener.port);
    const protocolClash = samePort.find((other) => other.protocol !== listener.protocol);
    const hostnameClash = samePort.find((other) =>
      other.protocol === listener.protocol && sameListenerHostname(other.hostname, listener.hostname)
    );
    if (protocolClash) {
      conditions.push(listenerConflicted(
        "ProtocolConflict",
        `Listener shares port ${listener.port} with listener "${protocolClash.name}" of protocol ${protocolClash.protocol}`,
        gen,
      ));
      usable = false;
      problem ??= "it conflicts with another listener";
    } else if (hostnameClash) {
      conditions.push(listenerConflicted(
        "HostnameConflict",
        `Listener has the same port and hostname as listener "${hostnameClash.name}"`,
        gen,
      ));
      usable = false;
      problem ??= "it conflicts with another listener";
    } else {
      conditions.push(listenerNoConflicts(gen));
    }

    const certProblem = listener.protocol === "HTTPS" ? certificateProblem(index, gateway, listener) : undefined;
    const notPermitted = listener.protocol === "HTTPS"
      ? certificateRefNotPermitted(index, gateway, listener)
      : undefined;
    if (kinds.invalid.length > 0) {
      conditions.push(listenerRefsNotResolved(
        "InvalidRouteKinds",
        `Route kinds ${kinds.invalid.map((k) => `"${k}"`).join(", ")} are not supported: only HTTPRoute is`,
        gen,
      ));
    } else if (notPermitted) {
      conditions.push(listenerRefsNotResolved("RefNotPermitted", notPermitted, gen));
    } else if (certProblem) {
      conditions.push(listenerRefsNotResolved("InvalidCertificateRef", certProblem, gen));
    } else {
      conditions.push(listenerResolvedRefs(gen));
    }
    if (supportedKinds.length === 0) {
      usable = false;
      problem ??= "it supports no route kind";
    }
    // Routes still attach to a listener whose certificate is unusable (attachedRoutes counts them, as the spec's
    // conformance tests expect), but it is not configured in the data plane.
    const attachable = usable;
    if (notPermitted || certProblem) {
      usable = false;
      problem ??= notPermitted ?? certProblem;
    }
    return {
      listener,
      socket: listenerSocketName(listener.port),
      attachable,
      usable,
      supportedKinds,
      conditions,
      problem,
    };
  });
}
