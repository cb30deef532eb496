/**
 * What the operator keeps of each watched object: only the fields it reads. The reflectors apply these as each list
 * page and watch event arrives (their `transform`), so managedFields, `last-applied-configuration`, Pod specs, the
 * data of our own ConfigMaps and Secrets and the keys of a TLS Secret other than the certificate and key never stay
 * in memory. Pure.
 *
 * @module
 */
import type { KubeObject } from "../internal/kube/mod.ts";

/** `kubectl apply`'s copy of the whole object, often the largest annotation; nothing here reads it. */
const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

const METADATA_FIELDS = [
  "name",
  "namespace",
  "uid",
  "generation",
  "resourceVersion",
  "creationTimestamp",
  "deletionTimestamp",
  "labels",
] as const;

type Metadata = KubeObject["metadata"];

/**
 * Keeps the metadata fields the operator reads: identity, generation, resourceVersion, timestamps, labels and the
 * annotations except `last-applied-configuration` (managedFields, ownerReferences, finalizers go).
 *
 * @example Usage
 * ```ts
 * import { compactMetadata } from "./compact_objects.ts";
 * compactMetadata({ name: "a", managedFields: [{}], annotations: { x: "1" } }); // { name: "a", annotations: { x: "1" } }
 * ```
 *
 * @param metadata The received metadata.
 * @returns A new, smaller metadata object.
 */
export function compactMetadata(metadata: Metadata): Metadata {
  const out: Metadata = { name: metadata.name };
  for (const field of METADATA_FIELDS) {
    if (metadata[field] !== undefined) (out as Record<string, unknown>)[field] = metadata[field];
  }
  if (metadata.annotations) {
    const { [LAST_APPLIED]: _, ...annotations } = metadata.annotations;
    if (Object.keys(annotations).length > 0) out.annotations = annotations;
  }
  return out;
}

function base(obj: KubeObject): KubeObject {
  return {
    ...(obj.apiVersion ? { apiVersion: obj.apiVersion } : {}),
    ...(obj.kind ? { kind: obj.kind } : {}),
    metadata: compactMetadata(obj.metadata),
  };
}

/**
 * Keeps the metadata only: enough to find, compare (`lacquer.dev/desired-hash`) and prune our child objects.
 *
 * @param obj The received object.
 * @returns Its compact metadata under `metadata`.
 */
export function metadataOnly(obj: KubeObject): KubeObject {
  return base(obj);
}

/**
 * Drops the managedFields, which are often the largest part of an object and which nothing here reads. For the
 * Gateway API objects and GatewayParameters, whose other fields the translation and the status writers use.
 *
 * @param obj The received object.
 * @returns The object without `metadata.managedFields`.
 */
export function withoutManagedFields(obj: KubeObject): KubeObject {
  const { managedFields: _, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/**
 * Keeps what a Service contributes: type, cluster IPs, ports, load balancer addresses and conditions.
 *
 * @param obj The received Service.
 * @returns The compact Service.
 */
export function compactService(obj: KubeObject): KubeObject {
  const spec = (obj.spec ?? {}) as Record<string, unknown>;
  const status = (obj.status ?? {}) as Record<string, unknown>;
  return {
    ...base(obj),
    spec: Object.fromEntries(
      ["type", "clusterIP", "clusterIPs", "ports"].filter((f) => spec[f] !== undefined).map((f) => [f, spec[f]]),
    ),
    ...(status.loadBalancer || status.conditions
      ? {
        status: Object.fromEntries(
          ["loadBalancer", "conditions"].filter((f) => status[f] !== undefined).map((f) => [f, status[f]]),
        ),
      }
      : {}),
  };
}

/**
 * Keeps a Pod's metadata, conditions (readiness; the annotations carry what it applied) and IP (invalidations are
 * sent to it).
 *
 * @param obj The received Pod.
 * @returns The compact Pod.
 */
export function compactPod(obj: KubeObject): KubeObject {
  const status = (obj.status ?? {}) as Record<string, unknown>;
  const kept = Object.fromEntries(
    ["conditions", "podIP"].filter((f) => status[f] !== undefined).map((f) => [f, status[f]]),
  );
  return { ...base(obj), ...(Object.keys(kept).length > 0 ? { status: kept } : {}) };
}

/**
 * Keeps a Namespace's name and labels (listeners select route namespaces by label).
 *
 * @param obj The received Namespace.
 * @returns The compact Namespace.
 */
export function compactNamespace(obj: KubeObject): KubeObject {
  const { name, labels } = obj.metadata;
  return { ...(obj.kind ? { kind: obj.kind } : {}), metadata: { name, ...(labels ? { labels } : {}) } };
}

/**
 * Keeps what a certificateRef needs from a Secret: its type, `tls.crt` and `tls.key`, and `ca.crt` for a
 * caCertificateRef of client certificate validation.
 *
 * @param obj The received Secret.
 * @returns The compact Secret.
 */
export function compactTlsSecret(obj: KubeObject): KubeObject {
  const data = (obj.data ?? {}) as Record<string, string>;
  const kept: Record<string, string> = {};
  for (const key of ["tls.crt", "tls.key", "ca.crt"]) if (data[key] !== undefined) kept[key] = data[key];
  return { ...base(obj), type: obj.type, data: kept };
}

/**
 * Keeps a ConfigMap's metadata and data (a user VCL ConfigMap: the referenced key is among the data).
 *
 * @param obj The received ConfigMap.
 * @returns The compact ConfigMap.
 */
export function compactConfigMap(obj: KubeObject): KubeObject {
  return {
    ...base(obj),
    ...(obj.data ? { data: obj.data } : {}),
    ...(obj.binaryData ? { binaryData: obj.binaryData } : {}),
  };
}
