/**
 * Timestamps as Kubernetes writes `metav1.Time`: RFC 3339 in UTC with whole seconds (for example a condition's
 * `lastTransitionTime`).
 *
 * @module
 */

/**
 * Formats a time as Kubernetes writes it.
 *
 * @example Usage
 * ```ts
 * import { kubeTime } from "./kube_time.ts";
 * kubeTime(new Date("2026-01-02T03:04:05.678Z")); // "2026-01-02T03:04:05Z"
 * ```
 *
 * @param date The time.
 * @returns `YYYY-MM-DDThh:mm:ssZ`.
 */
export function kubeTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}
