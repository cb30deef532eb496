/**
 * BackendTLSPolicy (Gateway API v1, `apis/v1/backendtlspolicy_types.go`): which policy applies to a Service port,
 * what it makes of the port's traffic (routing.json `tls`, or why the port cannot be reached), and the policy's
 * verdict for its status. Pure.
 *
 * - Targets: Services, a `sectionName` naming one of their ports. A policy naming the port takes precedence over one
 *   naming the whole Service; among policies with the same target the oldest wins (then `namespace/name`), the
 *   others are `Conflicted`.
 * - Validation: `hostname` (SNI, and the name the certificate must carry unless `subjectAltNames` are given), CA
 *   certificates (`ca.crt`) from ConfigMaps or `kubernetes.io/tls` Secrets of the policy's namespace, or
 *   `wellKnownCACertificates: System`; `subjectAltNames` of type Hostname and URI (the certificate must carry one of
 *   them; ghost compares URIs exactly). Another kind of CA reference is `InvalidKind`; a missing object (a Secret of
 *   another type reads as missing), one without `ca.crt` or with no certificate that parses,
 *   `InvalidCACertificateRef`; with no usable reference left
 *   the policy is not accepted (`NoValidCACertificate`) and its ports answer 500: never plain HTTP instead.
 *
 * @module
 */
import { ABSOLUTE_URI, type RoutingBackendTls } from "../ghost/contract/mod.ts";
import type { BackendTlsPolicy } from "./api_types.ts";
import { readCaCertificates } from "./frontend_validation.ts";
import { keyOf, type SnapshotIndex } from "./snapshot_index.ts";

/** A policy's `Accepted` outcome before conflicts are considered. */
export type AcceptedOutcome =
  | { status: "True"; reason: "Accepted"; message: string }
  | { status: "False"; reason: "Invalid" | "NoValidCACertificate"; message: string };

/** A policy's `ResolvedRefs` outcome. */
export type ResolvedRefsOutcome =
  | { status: "True"; reason: "ResolvedRefs"; message: string }
  | { status: "False"; reason: "InvalidCACertificateRef" | "InvalidKind"; message: string };

/** What a BackendTLSPolicy makes of the ports it applies to, and its conditions. */
export interface BackendTlsVerdict {
  /** routing.json's `tls` for its ports; undefined when the policy cannot be used (its ports answer 500). */
  tls?: RoutingBackendTls;
  /** Why it cannot be used, when it cannot. */
  problem?: string;
  /** `Accepted`, before conflicts are considered. */
  accepted: AcceptedOutcome;
  /** `ResolvedRefs`. */
  resolvedRefs: ResolvedRefsOutcome;
}

/** The most subject alternative names of each type ghost.json carries. */
const MAX_SANS = 16;

interface RefProblem {
  reason: "InvalidKind" | "InvalidCACertificateRef";
  message: string;
}

function resolveCaRef(
  ref: BackendTlsPolicy["spec"]["validation"]["caCertificateRefs"][number],
  namespace: string,
  index: SnapshotIndex,
): { pems: string[] } | RefProblem {
  if (ref.group !== "" || (ref.kind !== "ConfigMap" && ref.kind !== "Secret")) {
    return {
      reason: "InvalidKind",
      message: `caCertificateRef to ${ref.group || "core"}/${ref.kind} "${ref.name}" is not supported: use a ` +
        "ConfigMap or a kubernetes.io/tls Secret with the CA certificates in ca.crt",
    };
  }
  const read = readCaCertificates(index, ref.kind, keyOf(namespace, ref.name));
  return "pems" in read ? read : { reason: "InvalidCACertificateRef", message: read.message };
}

/** Why the policy's settings (other than its references) cannot be used, if they cannot. */
function settingsProblem(policy: BackendTlsPolicy): string | undefined {
  const { validation } = policy.spec;
  const wellKnown = validation.wellKnownCACertificates;
  if (wellKnown !== undefined && wellKnown !== "" && wellKnown !== "System") {
    return `wellKnownCACertificates "${wellKnown}" is not supported: use "System" or caCertificateRefs`;
  }
  const hasWellKnown = wellKnown === "System";
  if (hasWellKnown && validation.caCertificateRefs.length > 0) {
    return "set either caCertificateRefs or wellKnownCACertificates, not both";
  }
  if (!hasWellKnown && validation.caCertificateRefs.length === 0) {
    return "set caCertificateRefs or wellKnownCACertificates";
  }
  const dns = validation.subjectAltNames.filter((s) => s.type === "Hostname");
  const uris = validation.subjectAltNames.filter((s) => s.type === "URI");
  if (dns.length + uris.length !== validation.subjectAltNames.length) {
    return "subjectAltNames may only be of type Hostname or URI";
  }
  if (dns.some((s) => !s.hostname) || uris.some((s) => !s.uri)) {
    return "a subjectAltName of type Hostname needs hostname, one of type URI needs uri";
  }
  if (dns.length > MAX_SANS || uris.length > MAX_SANS) return `at most ${MAX_SANS} subjectAltNames of each type`;
  const relative = uris.find((s) => !ABSOLUTE_URI.test(s.uri!));
  if (relative) return `subjectAltName URI "${relative.uri}" is not an absolute URI (scheme://authority...)`;
  const long = [...dns.map((s) => s.hostname!), ...uris.map((s) => s.uri!)].find((name) => name.length > 253);
  if (long) return `subjectAltName "${long.slice(0, 64)}..." is longer than 253 characters`;
  return undefined;
}

/**
 * Validates a BackendTLSPolicy against the ConfigMaps and Secrets of a snapshot: its routing.json `tls`, or why its ports
 * cannot be reached, and its `Accepted` (before conflicts) and `ResolvedRefs` conditions.
 *
 * @example Usage
 * ```ts
 * import { validateBackendTls } from "./backend_tls.ts";
 * import { backendTlsPolicySchema } from "./api_types.ts";
 * import { indexSnapshot } from "./snapshot_index.ts";
 * import { emptySnapshot } from "./snapshot.ts";
 * const policy = backendTlsPolicySchema.parse({
 *   metadata: { name: "p", namespace: "shop" },
 *   spec: {
 *     targetRefs: [{ kind: "Service", name: "api" }],
 *     validation: { hostname: "api.shop.example", wellKnownCACertificates: "System" },
 *   },
 * });
 * validateBackendTls(policy, indexSnapshot(emptySnapshot(), "lacquer.dev/gateway-controller")).tls;
 * // { hostname: "api.shop.example" }
 * ```
 *
 * @param policy The policy.
 * @param index Lookups for its ConfigMaps and Secrets.
 * @returns The verdict.
 */
export function validateBackendTls(policy: BackendTlsPolicy, index: SnapshotIndex): BackendTlsVerdict {
  const namespace = policy.metadata.namespace ?? "";
  const { validation } = policy.spec;
  const pems: string[] = [];
  let refProblem: RefProblem | undefined;
  for (const ref of validation.caCertificateRefs) {
    const resolved = resolveCaRef(ref, namespace, index);
    if ("pems" in resolved) pems.push(...resolved.pems);
    else refProblem ??= resolved;
  }
  const resolvedRefs: ResolvedRefsOutcome = refProblem
    ? { status: "False", ...refProblem }
    : { status: "True", reason: "ResolvedRefs", message: "Every caCertificateRef is resolved" };
  const invalid = settingsProblem(policy);
  if (invalid) {
    const accepted = {
      status: "False",
      reason: "Invalid",
      message: `BackendTLSPolicy is invalid: ${invalid}`,
    } as const;
    return { problem: invalid, accepted, resolvedRefs };
  }
  const unique = [...new Set(pems)];
  if (validation.caCertificateRefs.length > 0 && unique.length === 0) {
    const problem = `no caCertificateRef is usable: ${refProblem?.message}`;
    const accepted = {
      status: "False",
      reason: "NoValidCACertificate",
      message: `BackendTLSPolicy cannot be used: ${problem}`,
    };
    return { problem, accepted: accepted as AcceptedOutcome, resolvedRefs };
  }
  const dns = validation.subjectAltNames.flatMap((s) => s.type === "Hostname" && s.hostname ? [s.hostname] : []);
  const uris = validation.subjectAltNames.flatMap((s) => s.type === "URI" && s.uri ? [s.uri] : []);
  const tls: RoutingBackendTls = {
    hostname: validation.hostname,
    ...(unique.length > 0 ? { caCertificates: `${unique.join("\n")}\n` } : {}),
    ...(dns.length > 0 ? { subjectAltNames: dns } : {}),
    ...(uris.length > 0 ? { uriSubjectAltNames: uris } : {}),
  };
  return {
    tls,
    accepted: { status: "True", reason: "Accepted", message: "BackendTLSPolicy is accepted" },
    resolvedRefs,
  };
}

/** Tells whether a targetRef names a Service and, with `sectionName`, the given one. */
function targets(policy: BackendTlsPolicy, service: string, sectionName: string | undefined): boolean {
  return policy.spec.targetRefs.some((ref) =>
    ref.group === "" && ref.kind === "Service" && ref.name === service && ref.sectionName === sectionName
  );
}

/**
 * Returns the BackendTLSPolicy that applies to a Service port: the oldest naming the port (`sectionName`), else the
 * oldest naming the whole Service.
 *
 * @example Usage
 * ```ts
 * import { backendTlsPolicyOf } from "./backend_tls.ts";
 * import { indexSnapshot } from "./snapshot_index.ts";
 * import { emptySnapshot } from "./snapshot.ts";
 * backendTlsPolicyOf(indexSnapshot(emptySnapshot(), "lacquer.dev/gateway-controller"), "shop", "api", 443);
 * // undefined
 * ```
 *
 * @param index Lookups for Services and policies.
 * @param namespace The Service's namespace.
 * @param name The Service's name.
 * @param port The Service port number.
 * @returns The policy, if any.
 */
export function backendTlsPolicyOf(
  index: SnapshotIndex,
  namespace: string,
  name: string,
  port: number,
): BackendTlsPolicy | undefined {
  const policies = index.backendTlsByService.get(keyOf(namespace, name));
  if (!policies) return undefined;
  const portName = index.services.get(keyOf(namespace, name))?.spec.ports.find((p) => p.port === port)?.name;
  return (portName ? policies.find((p) => targets(p, name, portName)) : undefined) ??
    policies.find((p) => targets(p, name, undefined));
}

/**
 * Lists the policies that apply to a Service port or lost it to an older one: those naming the port, and those
 * naming the whole Service.
 *
 * @param index Lookups for Services and policies.
 * @param namespace The Service's namespace.
 * @param name The Service's name.
 * @param port The Service port number.
 * @returns The policies, oldest first.
 */
export function backendTlsPoliciesAt(
  index: SnapshotIndex,
  namespace: string,
  name: string,
  port: number,
): BackendTlsPolicy[] {
  const policies = index.backendTlsByService.get(keyOf(namespace, name)) ?? [];
  const portName = index.services.get(keyOf(namespace, name))?.spec.ports.find((p) => p.port === port)?.name;
  return policies.filter((p) => targets(p, name, undefined) || (portName !== undefined && targets(p, name, portName)));
}

/**
 * Returns the older policy that holds every target of a policy, when one does (the policy is then `Conflicted`).
 *
 * @param policy The policy.
 * @param index Lookups for policies.
 * @returns The `namespace/name` of a policy that wins over it; undefined when it wins some target.
 */
export function backendTlsConflict(policy: BackendTlsPolicy, index: SnapshotIndex): string | undefined {
  const namespace = policy.metadata.namespace ?? "";
  let winner: string | undefined;
  for (const ref of policy.spec.targetRefs) {
    if (ref.group !== "" || ref.kind !== "Service") continue;
    const first = (index.backendTlsByService.get(keyOf(namespace, ref.name)) ?? [])
      .find((p) => targets(p, ref.name, ref.sectionName));
    if (first === undefined || first === policy) return undefined;
    winner ??= keyOf(first.metadata.namespace, first.metadata.name);
  }
  return winner;
}
