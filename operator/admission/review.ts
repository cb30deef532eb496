/**
 * AdmissionReview (`admission.k8s.io/v1`) in and out: the request's uid, kind and object, and the response the API
 * server expects for a verdict. Pure.
 *
 * @module
 */
import type { Verdict } from "./validate.ts";

/** What the webhook reads of an AdmissionReview request. */
export interface ReviewRequest {
  uid: string;
  /** `group/Kind`, e.g. `gateway.networking.k8s.io/HTTPRoute`. */
  kind: string;
  /** The object as it would be stored (absent on DELETE). */
  object?: Record<string, unknown>;
}

/**
 * Reads an AdmissionReview body.
 *
 * @example Usage
 * ```ts
 * import { parseReview } from "./review.ts";
 * parseReview({ request: { uid: "1", kind: { group: "lacquer.dev", kind: "CachePolicy" }, object: {} } });
 * // { uid: "1", kind: "lacquer.dev/CachePolicy", object: {} }
 * ```
 *
 * @param body The parsed JSON body.
 * @returns The request, or undefined when the body is not an AdmissionReview request.
 */
export function parseReview(body: unknown): ReviewRequest | undefined {
  const request = (body as { request?: Record<string, unknown> } | null)?.request;
  if (!request || typeof request.uid !== "string") return undefined;
  const kind = request.kind as { group?: string; kind?: string } | undefined;
  const object = request.object;
  return {
    uid: request.uid,
    kind: `${kind?.group ?? ""}/${kind?.kind ?? ""}`,
    ...(object && typeof object === "object" ? { object: object as Record<string, unknown> } : {}),
  };
}

/**
 * The AdmissionReview response for a verdict: refused with status 422 and the message, or allowed with warnings.
 *
 * @example Usage
 * ```ts
 * import { reviewResponse } from "./review.ts";
 * reviewResponse("1", { allowed: true, warnings: ["w"] }).response.warnings; // ["w"]
 * ```
 *
 * @param uid The request's uid.
 * @param verdict The decision.
 * @returns The response body.
 */
export function reviewResponse(uid: string, verdict: Verdict) {
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    response: {
      uid,
      allowed: verdict.allowed,
      ...(verdict.allowed ? {} : { status: { code: 422, reason: "Invalid", message: verdict.message ?? "refused" } }),
      ...(verdict.warnings.length ? { warnings: verdict.warnings } : {}),
    },
  };
}
