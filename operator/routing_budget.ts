/**
 * The size budget of a Gateway's routing configuration. Its ConfigMap holds at most 1 MiB, and one that does not fit
 * fails every apply: no route change would reach the Gateway again, and no route would hear why. So the routes are
 * fitted to a budget first: the oldest routes (the precedence order) are kept, and the newest that do not fit are
 * refused, each told so in its status, while the others keep serving.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { routingConfigMapData } from "../internal/routing_config_map.ts";
import { parentRefsNaming } from "./attach.ts";
import type { AttachedRoute } from "./attach_routes.ts";

/** Bytes of routing.json (as stored: plain, or gzip in base64) and main.vcl a Gateway's ConfigMap may take. */
export const ROUTING_BUDGET_BYTES = 900 * 1024;

/**
 * The bytes routing.json and main.vcl take in the ConfigMap (`routingConfigMapData`). A text well inside the budget
 * is not compressed to find out: gzip never grows it by more than a few bytes, base64 by a third.
 *
 * @example Usage
 * ```ts
 * import { storedBytes } from "./routing_budget.ts";
 * storedBytes("{}\n", "vcl 4.1;\n", 1024); // 12
 * ```
 *
 * @param routingJson The routing.json text.
 * @param mainVcl The main.vcl text.
 * @param budget The budget the size is compared with.
 * @returns The stored size in bytes (at most the plain size when that is well inside `budget`).
 */
export function storedBytes(routingJson: string, mainVcl: string, budget: number): number {
  const plain = Buffer.byteLength(routingJson, "utf8") + Buffer.byteLength(mainVcl, "utf8");
  if (plain * 4 / 3 + 1024 <= budget) return plain;
  const { data, binaryData = {} } = routingConfigMapData(routingJson, mainVcl);
  return [...Object.values(data), ...Object.values(binaryData)].reduce((n, v) => n + Buffer.byteLength(v, "utf8"), 0);
}

/** The route refused for the budget: not attached, its parentRefs naming the Gateway rejected with the reason. */
function refuse(attached: AttachedRoute, gateway: string, budget: number): AttachedRoute {
  const rejection = {
    reason: "RoutingBudgetExceeded" as const,
    message: `The Gateway's routing configuration would exceed its budget of ${budget} bytes (its ConfigMap holds at ` +
      "most 1 MiB), so the newest routes are left out, this one among them, while the older ones keep serving. " +
      "Remove routes, rules or hostnames of this Gateway.",
  };
  return {
    ...attached,
    rejections: new Map(parentRefsNaming(attached.route, gateway).map((ref) => [ref, rejection])),
    attachments: [],
  };
}

/**
 * Keeps the longest prefix of routes (in precedence order: oldest first) whose rendering fits the budget and
 * refuses the rest. Rendering is done O(log n) times, only when everything does not fit.
 *
 * @example Usage
 * ```ts ignore
 * import { fitRoutes } from "./routing_budget.ts";
 * const { routes, rendered } = fitRoutes(attached, "ns/gw", ROUTING_BUDGET_BYTES, render, (r) => size(r));
 * ```
 *
 * @param routes The attached routes, oldest first.
 * @param gateway The Gateway's `namespace/name`.
 * @param budget The budget in bytes.
 * @param render Renders routes (refused ones contribute nothing).
 * @param size The stored size of a rendering.
 * @returns The routes (the refused replaced by their refusals) and their rendering.
 */
export function fitRoutes<T>(
  routes: readonly AttachedRoute[],
  gateway: string,
  budget: number,
  render: (routes: readonly AttachedRoute[]) => T,
  size: (rendered: T) => number,
): { routes: AttachedRoute[]; rendered: T } {
  const all = render(routes);
  if (size(all) <= budget) return { routes: [...routes], rendered: all };
  const keep = (n: number) =>
    routes.map((r, i) => i < n || r.attachments.length === 0 ? r : refuse(r, gateway, budget));
  // The largest n whose first n routes fit (none always fits: the document without routes is small).
  let [low, high] = [0, routes.length - 1];
  let best = { routes: keep(0), rendered: render(keep(0)) };
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    const candidate = keep(mid);
    const rendered = render(candidate);
    if (size(rendered) <= budget) [low, best] = [mid, { routes: candidate, rendered }];
    else high = mid - 1;
  }
  return best;
}
