/**
 * Sorts one answer of the chaos load: served by a backend its route selects, failed, or misrouted. The echo backends
 * name their pod in a JSON body, and a pod of app `blue` is called `blue-<hash>-<suffix>`.
 *
 * @module
 */

/** What became of one request. */
export type Outcome = "ok" | "failed" | "misrouted";

/**
 * Classifies an answer: any status but 200 failed; a 200 from a pod of an app the route does not select, or from
 * something that names no pod, is misrouted.
 *
 * @example Usage
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { classifyAnswer } from "./answer_check.ts";
 * equal(classifyAnswer(200, '{"pod":"blue-7d9f-x2k4q"}', ["blue"]).outcome, "ok");
 * equal(classifyAnswer(200, '{"pod":"green-5c-abcde"}', ["blue"]).outcome, "misrouted");
 * equal(classifyAnswer(503, "", ["blue"]).outcome, "failed");
 * ```
 *
 * @param status The HTTP status.
 * @param body The answer's body.
 * @param apps The apps (Deployment names) the request's route selects.
 * @returns The outcome and, unless ok, a short description.
 */
export function classifyAnswer(
  status: number,
  body: string,
  apps: readonly string[],
): { outcome: Outcome; detail?: string } {
  if (status !== 200) return { outcome: "failed", detail: `HTTP ${status}: ${body.slice(0, 120)}` };
  let pod: unknown;
  try {
    pod = (JSON.parse(body) as { pod?: unknown }).pod;
  } catch {
    // not an echo backend's answer
  }
  if (typeof pod !== "string") return { outcome: "misrouted", detail: `a 200 naming no pod: ${body.slice(0, 120)}` };
  if (apps.some((app) => pod.startsWith(`${app}-`))) return { outcome: "ok" };
  return { outcome: "misrouted", detail: `answered by ${pod}, expected ${apps.join(" or ")}` };
}
