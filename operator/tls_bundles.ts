/**
 * The certificate bundles of a Gateway's HTTPS listeners and its backend client certificate, as its TLS Secret
 * `<gateway>-lacquer-tls` carries them to the chaperone (pods cannot mount Secrets of other namespaces, and a
 * certificateRef may point to one). Pure.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { BACKEND_CLIENT_CERTIFICATE_KEYS, clientVerifyKeys, tlsBundleKey } from "../internal/names.ts";
import type { Gateway } from "./api_types.ts";
import { resolveBackendClientCertificate } from "./backend_client_certificate.ts";
import type { PortValidation } from "./frontend_validation.ts";
import type { ListenerResult } from "./listeners.ts";
import { keyOf, type SnapshotIndex } from "./snapshot_index.ts";

function decode(value: string | undefined): string {
  return value === undefined ? "" : Buffer.from(value, "base64").toString("utf8");
}

function normalize(pem: string): string {
  return pem.replace(/\r\n?/g, "\n").trim();
}

/**
 * Joins a certificate chain and its private key into the one PEM text hitch loads: the key, then the chain, each
 * with Unix line ends, ending in a newline.
 *
 * @example Usage
 * ```ts
 * import { pemBundle } from "./tls_bundles.ts";
 * pemBundle("-----BEGIN CERTIFICATE-----\r\nA\r\n-----END CERTIFICATE-----\r\n", "KEY\n");
 * // "KEY\n-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n"
 * ```
 *
 * @param chain `tls.crt`: the certificate and its intermediates.
 * @param key `tls.key`: the private key.
 * @returns The bundle.
 */
export function pemBundle(chain: string, key: string): string {
  return `${normalize(key)}\n${normalize(chain)}\n`;
}

/**
 * Tells whether hitch verifies client certificates for a listener: a served HTTPS listener with a CA bundle
 * (`spec.tls.frontend`). Its socket's requests then tell backends the result (`X-SSL-Client-Verify`, `vcl/`).
 *
 * @example Usage
 * ```ts ignore
 * import { verifiesClientCertificates } from "./tls_bundles.ts";
 * validateListeners(gateway, index).filter(verifiesClientCertificates).map((l) => l.socket); // ["port-443"]
 * ```
 *
 * @param l A validated listener.
 * @returns True when its socket verifies client certificates.
 */
export function verifiesClientCertificates(
  l: ListenerResult,
): l is ListenerResult & { frontend: PortValidation } {
  return l.usable && l.listener.protocol === "HTTPS" && l.frontend !== undefined && l.frontend.caBundle !== "";
}

/**
 * Builds the TLS Secret data of a Gateway: for every HTTPS listener that is served (its references resolved and
 * permitted, see `validateListeners`), one bundle per certificateRef under `<socket>.<listener>.pem` (`_<n>` for
 * the further ones), and per socket a default bundle `<socket>.pem`: the first certificate of the first listener on
 * that port without a hostname (it accepts any SNI), else of the first listener on it. A socket whose listeners
 * verify client certificates (`spec.tls.frontend`) gets its CA certificates and hitch's `client-verify` setting
 * (`required` for AllowValidOnly, `optional` for AllowInsecureFallback) under `clientVerifyKeys`. The Gateway's
 * backend client certificate (`spec.tls.backend`), when it resolves, goes under `BACKEND_CLIENT_CERTIFICATE_KEYS`.
 * `tls.crt` and `tls.key` hold the default certificate of the lowest port (else the client certificate), so the
 * Secret is a valid `kubernetes.io/tls` one.
 *
 * @example Usage
 * ```ts ignore
 * import { buildTlsBundles } from "./tls_bundles.ts";
 * const data = buildTlsBundles(gateway, validateListeners(gateway, index), index);
 * // { "port-443.https.pem": "-----BEGIN PRIVATE KEY-----...", "port-443.pem": "...", "tls.crt": "...", ... }
 * ```
 *
 * @param gateway The Gateway.
 * @param listeners Its validated listeners.
 * @param index Lookups for the Secrets.
 * @returns The data as text (not yet base64), keys sorted; empty without a served HTTPS listener.
 */
export function buildTlsBundles(
  gateway: Gateway,
  listeners: readonly ListenerResult[],
  index: SnapshotIndex,
): Record<string, string> {
  const ns = gateway.metadata.namespace ?? "";
  const data: Record<string, string> = {};
  const defaults = new Map<string, { chain: string; key: string; anyHost: boolean; port: number }>();
  for (const l of listeners) {
    if (!l.usable || l.listener.protocol !== "HTTPS") continue;
    if (verifiesClientCertificates(l)) {
      const keys = clientVerifyKeys(l.socket);
      data[keys.ca] = l.frontend.caBundle;
      data[keys.verify] = l.frontend.mode === "AllowInsecureFallback" ? "optional" : "required";
    }
    (l.listener.tls?.certificateRefs ?? []).forEach((ref, i) => {
      const secret = index.secrets.get(keyOf(ref.namespace ?? ns, ref.name));
      if (!secret) return;
      const chain = decode(secret.data["tls.crt"]);
      const key = decode(secret.data["tls.key"]);
      data[tlsBundleKey(l.socket, l.listener.name, i)] = pemBundle(chain, key);
      const current = defaults.get(l.socket);
      const anyHost = !l.listener.hostname;
      if (i === 0 && (!current || (anyHost && !current.anyHost))) {
        defaults.set(l.socket, { chain, key, anyHost, port: l.listener.port });
      }
    });
  }
  const sockets = [...defaults.keys()].sort((a, b) => defaults.get(a)!.port - defaults.get(b)!.port);
  for (const socket of sockets) {
    const d = defaults.get(socket)!;
    data[tlsBundleKey(socket)] = pemBundle(d.chain, d.key);
  }
  if (sockets.length > 0) {
    const first = defaults.get(sockets[0])!;
    data["tls.crt"] = `${normalize(first.chain)}\n`;
    data["tls.key"] = `${normalize(first.key)}\n`;
  }
  const client = resolveBackendClientCertificate(gateway, index);
  if (client && "certificate" in client) {
    data[BACKEND_CLIENT_CERTIFICATE_KEYS.certificate] = `${normalize(client.certificate)}\n`;
    data[BACKEND_CLIENT_CERTIFICATE_KEYS.key] = `${normalize(client.key)}\n`;
    data["tls.crt"] ??= `${normalize(client.certificate)}\n`;
    data["tls.key"] ??= `${normalize(client.key)}\n`;
  }
  return Object.fromEntries(Object.keys(data).sort().map((k) => [k, data[k]]));
}
