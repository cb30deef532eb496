/**
 * The Gateway's backend client certificate (`Gateway.spec.tls.backend.clientCertificateRef`, Gateway API
 * `GatewayBackendTLS`): the `kubernetes.io/tls` Secret ghost presents on every TLS connection to a backend of the
 * Gateway, resolved with the spec's reasons for the Gateway's `ResolvedRefs` condition. Pure.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { type Gateway, GATEWAY_GROUP } from "./api_types.ts";
import { keyOf, referenceAllowed, type SnapshotIndex } from "./snapshot_index.ts";

/** A resolved client certificate: its chain and private key, PEM. */
export interface BackendClientCertificate {
  /** `tls.crt`. */
  certificate: string;
  /** `tls.key`. */
  key: string;
}

/** Why the reference cannot be used, with the reason of the Gateway's `ResolvedRefs=False`. */
export interface BackendClientCertificateProblem {
  /** The spec's reason. */
  reason: "InvalidClientCertificateRef" | "RefNotPermitted";
  /** What is wrong. */
  message: string;
}

function decode(value: string | undefined): string {
  return value === undefined ? "" : Buffer.from(value, "base64").toString("utf8");
}

/** Why a certificate and key do not make a client certificate, if they do not. */
function pairProblem(certificate: string, key: string): string | undefined {
  if (certificate.trim() === "" || key.trim() === "") return "it needs tls.crt and tls.key";
  try {
    new X509Certificate(certificate);
  } catch {
    return "tls.crt holds no certificate that parses";
  }
  try {
    createPrivateKey(key);
  } catch {
    return "tls.key holds no private key that parses";
  }
  return undefined;
}

/**
 * Resolves a Gateway's backend client certificate: a Secret of kind `Secret` (core group), in the Gateway's namespace
 * or one whose ReferenceGrant lets Gateways refer to it, of type `kubernetes.io/tls` with a certificate and key that
 * parse.
 *
 * @example Usage
 * ```ts
 * import { resolveBackendClientCertificate } from "./backend_client_certificate.ts";
 * import { gatewaySchema } from "./api_types.ts";
 * import { indexSnapshot } from "./snapshot_index.ts";
 * import { emptySnapshot } from "./snapshot.ts";
 * const gateway = gatewaySchema.parse({
 *   metadata: { name: "gw", namespace: "shop" },
 *   spec: { gatewayClassName: "lacquer", tls: { backend: { clientCertificateRef: { name: "client" } } } },
 * });
 * resolveBackendClientCertificate(gateway, indexSnapshot(emptySnapshot(), "lacquer.dev/gateway-controller"));
 * // { reason: "InvalidClientCertificateRef", message: 'Secret "shop/client" not found (only kubernetes.io/tls ...' }
 * ```
 *
 * @param gateway The Gateway.
 * @param index Lookups for Secrets and ReferenceGrants.
 * @returns The certificate, or why the reference cannot be used; undefined when the Gateway names none.
 */
export function resolveBackendClientCertificate(
  gateway: Gateway,
  index: SnapshotIndex,
): BackendClientCertificate | BackendClientCertificateProblem | undefined {
  const ref = gateway.spec.tls?.backend?.clientCertificateRef;
  if (!ref) return undefined;
  const ns = gateway.metadata.namespace ?? "";
  const refNs = ref.namespace ?? ns;
  const what = `clientCertificateRef to ${ref.group || "core"}/${ref.kind} "${keyOf(refNs, ref.name)}"`;
  if (ref.group !== "" || ref.kind !== "Secret") {
    return {
      reason: "InvalidClientCertificateRef",
      message: `${what} is not supported: use a kubernetes.io/tls Secret`,
    };
  }
  const permitted = referenceAllowed(
    index,
    { group: GATEWAY_GROUP, kind: "Gateway", namespace: ns },
    { group: "", kind: "Secret", namespace: refNs, name: ref.name },
  );
  if (!permitted) return { reason: "RefNotPermitted", message: `${what} is not permitted by any ReferenceGrant` };
  const secret = index.secrets.get(keyOf(refNs, ref.name));
  if (!secret) {
    return {
      reason: "InvalidClientCertificateRef",
      message: `Secret "${keyOf(refNs, ref.name)}" not found (only kubernetes.io/tls Secrets are read)`,
    };
  }
  const certificate = decode(secret.data["tls.crt"]);
  const key = decode(secret.data["tls.key"]);
  const problem = pairProblem(certificate, key);
  if (problem) return { reason: "InvalidClientCertificateRef", message: `${what}: ${problem}` };
  return { certificate, key };
}
