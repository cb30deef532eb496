/**
 * Watches the gateway's TLS Secret through the API (one object, by field selector) and decodes its data, so that a
 * rotated certificate reaches hitch without a pod restart.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { z } from "zod";
import type { KubeClient, ObjectWatcher } from "../internal/kube/mod.ts";
import { watchObject } from "../internal/kube/mod.ts";
import type { Logger } from "../internal/log.ts";
import { BACKEND_CLIENT_CERTIFICATE_KEYS } from "../internal/names.ts";
import type { GhostClientCertificate } from "../ghost/contract/mod.ts";

const secretSchema = z.object({
  metadata: z.object({ resourceVersion: z.string().default("") }),
  data: z.record(z.string(), z.string()).nullish(),
});

/**
 * Decodes a Secret's data (base64 values) into text.
 *
 * @param object The Secret as JSON.
 * @returns The decoded data; undefined when the object is not a Secret.
 */
export function decodeSecretData(object: unknown): Record<string, string> | undefined {
  const parsed = secretSchema.safeParse(object);
  if (!parsed.success) return undefined;
  return Object.fromEntries(
    Object.entries(parsed.data.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
  );
}

/**
 * Watches the gateway's TLS Secret by name; {@linkcode ObjectWatcher.current} decodes each version once.
 *
 * @example Usage
 * ```ts ignore
 * import { watchTlsSecret } from "./tls_secret_watcher.ts";
 * const secret = watchTlsSecret(client, { namespace: "default", name: "gw-lacquer-tls", onChange, log });
 * await secret.synced;
 * const data = secret.current();
 * ```
 *
 * @param client The API client.
 * @param options Which Secret, and whom to tell.
 * @returns The watcher.
 */
export function watchTlsSecret(
  client: KubeClient,
  options: { namespace: string; name: string; onChange: () => void; log: Logger },
): ObjectWatcher<Record<string, string> | undefined> {
  return watchObject(client, { ...options, resource: "secrets", decode: decodeSecretData });
}

/**
 * Returns the Gateway's backend client certificate from its TLS Secret's decoded data (the operator writes it under
 * `BACKEND_CLIENT_CERTIFICATE_KEYS`).
 *
 * @example Usage
 * ```ts
 * import { backendClientCertificateOf } from "./tls_secret_watcher.ts";
 * backendClientCertificateOf({ "backend-client.crt": "CERT", "backend-client.key": "KEY" });
 * // { certificate: "CERT", key: "KEY" }
 * ```
 *
 * @param data The Secret's data as text; undefined when it does not exist (yet).
 * @returns The certificate and key; undefined unless both are there.
 */
export function backendClientCertificateOf(
  data: Readonly<Record<string, string>> | undefined,
): GhostClientCertificate | undefined {
  const certificate = data?.[BACKEND_CLIENT_CERTIFICATE_KEYS.certificate];
  const key = data?.[BACKEND_CLIENT_CERTIFICATE_KEYS.key];
  return certificate && key ? { certificate, key } : undefined;
}
