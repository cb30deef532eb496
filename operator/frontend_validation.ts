/**
 * Client certificate validation of a Gateway's HTTPS listeners (`Gateway.spec.tls.frontend`): which validation a
 * listener port gets (its `perPort` entry, else `default`), and its CA certificate references resolved, each problem
 * with the spec's reason (`FrontendTLSValidation` in `apis/v1/gateway_types.go`). Pure.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { X509Certificate } from "node:crypto";
import { type CaCertificateRef, type FrontendValidation, type Gateway, GATEWAY_GROUP } from "./api_types.ts";
import type { ListenerProblem } from "./listeners.ts";
import { keyOf, referenceAllowed, type SnapshotIndex } from "./snapshot_index.ts";

/** Why a CA certificate reference is not usable (the listener's `ResolvedRefs=False` reason). */
export type CaRefReason = "InvalidCACertificateRef" | "InvalidCACertificateKind" | "RefNotPermitted";

/** How the HTTPS listeners of one port verify client certificates. */
export interface PortValidation {
  /** `AllowValidOnly`: a valid client certificate is required; `AllowInsecureFallback`: none is accepted too. */
  mode: "AllowValidOnly" | "AllowInsecureFallback";
  /** The usable CA certificates, PEM, one after the other; empty when no reference is usable. */
  caBundle: string;
  /** The first unusable reference, if any. */
  problem?: ListenerProblem<CaRefReason>;
}

const CERTIFICATE_PEM = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/**
 * Returns the validation that applies to a listener port: its `perPort` entry when there is one, else `default`.
 *
 * @param gateway The Gateway.
 * @param port The listener port.
 * @returns The validation; undefined when client certificates are not verified on that port.
 */
export function frontendValidationOf(gateway: Gateway, port: number): FrontendValidation | undefined {
  const frontend = gateway.spec.tls?.frontend;
  if (!frontend) return undefined;
  const perPort = frontend.perPort.find((p) => p.port === port);
  return perPort ? perPort.tls.validation : frontend.default.validation;
}

/**
 * Returns the PEM certificates of a `ca.crt` text, each checked to parse.
 *
 * @example Usage
 * ```ts
 * import { caCertificates } from "./frontend_validation.ts";
 * caCertificates("no certificate here"); // []
 * ```
 *
 * @param text The text.
 * @returns The certificates, in order; undefined when one does not parse.
 */
export function caCertificates(text: string): string[] | undefined {
  const pems = text.replace(/\r\n?/g, "\n").match(CERTIFICATE_PEM) ?? [];
  try {
    for (const pem of pems) new X509Certificate(pem);
  } catch {
    return undefined;
  }
  return pems;
}

function describe(ref: CaCertificateRef, ns: string): string {
  return `${ref.kind} "${keyOf(ref.namespace ?? ns, ref.name)}"`;
}

/** Resolves one reference: its certificates, or why it is unusable. */
function resolveRef(
  ref: CaCertificateRef,
  gateway: Gateway,
  index: SnapshotIndex,
): { pems: string[] } | ListenerProblem<CaRefReason> {
  const ns = gateway.metadata.namespace ?? "";
  const refNs = ref.namespace ?? ns;
  const what = describe(ref, ns);
  if (ref.group !== "" || (ref.kind !== "ConfigMap" && ref.kind !== "Secret")) {
    return {
      reason: "InvalidCACertificateKind",
      message: `caCertificateRef to ${ref.group || "core"}/${ref.kind} "${ref.name}" is not supported: ` +
        "use a ConfigMap (or a kubernetes.io/tls Secret) with the CA certificates in ca.crt",
    };
  }
  const permitted = referenceAllowed(
    index,
    { group: GATEWAY_GROUP, kind: "Gateway", namespace: ns },
    { group: "", kind: ref.kind, namespace: refNs, name: ref.name },
  );
  if (!permitted) {
    return { reason: "RefNotPermitted", message: `caCertificateRef to ${what} is not permitted by any ReferenceGrant` };
  }
  const read = readCaCertificates(index, ref.kind, keyOf(refNs, ref.name));
  return "pems" in read ? read : { reason: "InvalidCACertificateRef", message: read.message };
}

/**
 * Reads the CA certificates of a ConfigMap or Secret (core group) of a snapshot: the PEM certificates of its
 * `ca.crt`, or why there are none (the object is missing, has no `ca.crt`, or none of it parses). Only
 * `kubernetes.io/tls` Secrets are ever loaded, so another Secret reads as missing.
 *
 * @example Usage
 * ```ts
 * import { readCaCertificates } from "./frontend_validation.ts";
 * import { indexSnapshot } from "./snapshot_index.ts";
 * import { emptySnapshot } from "./snapshot.ts";
 * const index = indexSnapshot(emptySnapshot(), "lacquer.dev/gateway-controller");
 * readCaCertificates(index, "ConfigMap", "shop/ca");
 * // { message: 'caCertificateRef to ConfigMap "shop/ca": not found' }
 * ```
 *
 * @param index Lookups for ConfigMaps and Secrets.
 * @param kind `ConfigMap` or `Secret`.
 * @param key The object's `namespace/name`.
 * @returns The certificates, in order, or what is wrong.
 */
export function readCaCertificates(
  index: SnapshotIndex,
  kind: "ConfigMap" | "Secret",
  key: string,
): { pems: string[] } | { message: string } {
  const what = `caCertificateRef to ${kind} "${key}"`;
  const object = kind === "ConfigMap" ? index.configMaps.get(key) : index.secrets.get(key);
  if (!object) {
    const hint = kind === "Secret" ? " (only kubernetes.io/tls Secrets are read)" : "";
    return { message: `${what}: not found${hint}` };
  }
  const value = object.data["ca.crt"];
  const data = kind === "ConfigMap" || value === undefined ? value : Buffer.from(value, "base64").toString("utf8");
  if (data === undefined) return { message: `${what}: it has no key ca.crt` };
  const pems = caCertificates(data);
  if (pems === undefined || pems.length === 0) {
    return { message: `${what}: ca.crt holds no PEM certificate that parses` };
  }
  return { pems };
}

/**
 * Resolves the client certificate validation of one HTTPS listener port: the CA certificates of its usable
 * references, and the first unusable one (a kind other than ConfigMap or Secret, a cross-namespace reference no
 * ReferenceGrant permits, a missing object or `ca.crt`, or a `ca.crt` without a certificate that parses).
 *
 * @example Usage
 * ```ts ignore
 * import { validateFrontend } from "./frontend_validation.ts";
 * validateFrontend(gateway, 443, index);
 * // { mode: "AllowValidOnly", caBundle: "-----BEGIN CERTIFICATE-----\n...", problem: undefined }
 * ```
 *
 * @param gateway The Gateway.
 * @param port The listener port.
 * @param index Lookups for ConfigMaps, Secrets and ReferenceGrants.
 * @returns The port's validation; undefined when client certificates are not verified on it.
 */
export function validateFrontend(gateway: Gateway, port: number, index: SnapshotIndex): PortValidation | undefined {
  const validation = frontendValidationOf(gateway, port);
  if (!validation) return undefined;
  const pems: string[] = [];
  let problem: ListenerProblem<CaRefReason> | undefined;
  for (const ref of validation.caCertificateRefs) {
    const resolved = resolveRef(ref, gateway, index);
    if ("pems" in resolved) pems.push(...resolved.pems);
    else problem ??= resolved;
  }
  const unique = [...new Set(pems)];
  return {
    mode: validation.mode === "AllowInsecureFallback" ? "AllowInsecureFallback" : "AllowValidOnly",
    caBundle: unique.length === 0 ? "" : `${unique.join("\n")}\n`,
    ...(problem ? { problem } : {}),
  };
}

/**
 * Lists the ports whose validation allows clients without a valid certificate (`AllowInsecureFallback`), for the
 * Gateway's `InsecureFrontendValidationMode` condition.
 *
 * @example Usage
 * ```ts ignore
 * insecureFallbackPorts(gateway); // ["default", "8443"]
 * ```
 *
 * @param gateway The Gateway.
 * @returns `default` when the default validation allows it, then each such port; empty when none does.
 */
export function insecureFallbackPorts(gateway: Gateway): string[] {
  const frontend = gateway.spec.tls?.frontend;
  if (!frontend) return [];
  const insecure = (v: FrontendValidation | undefined) => v?.mode === "AllowInsecureFallback";
  return [
    ...(insecure(frontend.default.validation) ? ["default"] : []),
    ...frontend.perPort.filter((p) => insecure(p.tls.validation)).map((p) => String(p.port)),
  ];
}
