/**
 * The API requests that write a routing ConfigMap, one per way of writing it, for the ConfigMap write bench
 * (`config_map_write_bench.ts`): server-side apply as `operator/children_writer.ts` sends it, a PUT of the whole
 * object with the resourceVersion last answered, a JSON merge patch or a strategic merge patch of only the keys
 * that changed (and the annotations, which carry the content hashes), and a strategic merge patch of every field the
 * apply sets (labels, annotations, owner references, every data key: what a writer that does not know the live data,
 * as the operator's cache keeps none, would send).
 *
 * @module
 */
import type { KubeRequestOptions } from "../../internal/kube/mod.ts";
import { FIELD_MANAGER } from "../../operator/status_writer.ts";

/** The ways of writing a ConfigMap that the bench compares. */
export const WRITE_METHODS = ["apply", "put", "merge", "strategic", "strategic-all"] as const;

/** One way of writing. */
export type WriteMethod = typeof WRITE_METHODS[number];

/** A ConfigMap as the operator writes its routing children. */
export interface RoutingConfigMap {
  /** Its metadata, as the operator builds it (labels, annotations, owner reference). */
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    ownerReferences: unknown[];
  };
  /** Its data. */
  data: Record<string, string>;
}

/**
 * The request that writes `next` over an object last written as `previous`.
 *
 * @example Usage
 * ```ts
 * import { writeRequest } from "./config_map_write.ts";
 * const metadata = { name: "c", namespace: "n", labels: {}, annotations: {}, ownerReferences: [] };
 * writeRequest("merge", { metadata, data: { a: "1" } }, { metadata, data: { a: "2" } }, "7").body;
 * // { metadata: { annotations: {} }, data: { a: "2" } }
 * ```
 *
 * @param method The way of writing.
 * @param previous The object as last written.
 * @param next The object to write.
 * @param resourceVersion The resourceVersion the last write answered (a PUT sends it: a 409 when it is not current).
 * @returns The request's method, query, content type and body.
 */
export function writeRequest(
  method: WriteMethod,
  previous: RoutingConfigMap,
  next: RoutingConfigMap,
  resourceVersion: string,
): KubeRequestOptions {
  const query = { fieldManager: FIELD_MANAGER };
  const whole = { apiVersion: "v1", kind: "ConfigMap", ...next };
  if (method === "apply") {
    return {
      method: "PATCH",
      query: { ...query, force: true },
      contentType: "application/apply-patch+yaml",
      body: whole,
    };
  }
  if (method === "put") {
    return { method: "PUT", query, body: { ...whole, metadata: { ...next.metadata, resourceVersion } } };
  }
  if (method === "strategic-all") {
    const { labels, annotations, ownerReferences } = next.metadata;
    return {
      method: "PATCH",
      query,
      contentType: "application/strategic-merge-patch+json",
      body: { metadata: { labels, annotations, ownerReferences }, data: next.data },
    };
  }
  const changed = Object.fromEntries(Object.entries(next.data).filter(([key, value]) => previous.data[key] !== value));
  return {
    method: "PATCH",
    query,
    contentType: method === "merge" ? "application/merge-patch+json" : "application/strategic-merge-patch+json",
    body: { metadata: { annotations: next.metadata.annotations }, data: changed },
  };
}
