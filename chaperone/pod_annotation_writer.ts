/**
 * Publishes what the chaperone has live, and what it could not apply, as annotations on its own Pod (merge patch),
 * for the operator's `Programmed` condition and Events.
 *
 * @module
 */
import type { KubeClient } from "../internal/kube/mod.ts";
import { REJECTIONS_ANNOTATION } from "../internal/data_plane_rejections.ts";
import { APPLIED_ROUTING_ANNOTATION, APPLIED_VCL_ANNOTATION } from "../internal/names.ts";

/** The hashes of the configuration that is live. */
export interface AppliedConfig {
  /** `sha256:<hex>` of the routing.json whose ghost.json ghost has loaded. */
  routing?: string;
  /** `sha256:<hex>` of the active main.vcl. */
  vcl?: string;
  /** What could not be applied, as `encodeRejections` writes it; none removes the annotation. */
  rejected?: string;
}

/**
 * Writes the applied-config and rejection annotations on a Pod; absent values remove their annotation.
 *
 * @example Usage
 * ```ts ignore
 * import { writeAppliedAnnotations } from "./pod_annotation_writer.ts";
 * await writeAppliedAnnotations(client, { namespace: "default", name: "gw-7d9c-x" }, { routing, vcl });
 * ```
 *
 * @param client The API client.
 * @param pod The Pod.
 * @param applied The hashes.
 * @throws {KubeApiError} When the API server refuses the patch.
 */
export async function writeAppliedAnnotations(
  client: KubeClient,
  pod: { namespace: string; name: string },
  applied: AppliedConfig,
): Promise<void> {
  await client.request(
    `/api/v1/namespaces/${encodeURIComponent(pod.namespace)}/pods/${encodeURIComponent(pod.name)}`,
    {
      method: "PATCH",
      contentType: "application/merge-patch+json",
      body: {
        metadata: {
          annotations: {
            [APPLIED_ROUTING_ANNOTATION]: applied.routing ?? null,
            [APPLIED_VCL_ANNOTATION]: applied.vcl ?? null,
            [REJECTIONS_ANNOTATION]: applied.rejected ?? null,
          },
        },
      },
    },
  );
}
