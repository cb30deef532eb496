/**
 * Kubernetes label selector matching (`matchLabels` and `matchExpressions`), used for `allowedRoutes.namespaces`.
 *
 * @module
 */
import type { LabelSelector } from "./api_types.ts";

/**
 * Tells whether a set of labels satisfies a selector. An empty selector matches everything.
 *
 * @example Usage
 * ```ts
 * import { matchesSelector } from "./label_selector.ts";
 * matchesSelector({ matchLabels: { env: "prod" } }, { env: "prod" }); // true
 * ```
 *
 * @param selector The selector.
 * @param labels The object's labels.
 * @returns True when every requirement holds.
 */
export function matchesSelector(selector: LabelSelector, labels: Readonly<Record<string, string>> = {}): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const req of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, req.key);
    const values = req.values ?? [];
    switch (req.operator) {
      case "In":
        if (!has || !values.includes(labels[req.key])) return false;
        break;
      case "NotIn":
        if (has && values.includes(labels[req.key])) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
    }
  }
  return true;
}
