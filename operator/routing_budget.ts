/**
 * The budgets of a Gateway's routing configuration. Its ConfigMap holds at most 1 MiB, and one that does not fit
 * fails every apply: no route change would reach the Gateway again, and no route would hear why. Its regular
 * expressions are compiled by every gateway pod into one automaton per hostname, whose build time and memory grow
 * with them. So the routes are fitted to each budget in turn: the oldest routes (the precedence order) are kept, and
 * the newest that do not fit are refused, each told which budget in its status, while the others keep serving.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { type RoutingJson, type RoutingShard, type ShardedRouting, vhostEntries } from "../ghost/contract/mod.ts";
import { routingConfigMapData } from "../internal/routing_config_map.ts";
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

/** A limit on a Gateway's rendered routing configuration. */
export interface RoutingBudget<T> {
  /** Whether a rendering stays within the budget. */
  fits(rendered: T): boolean;
  /** Why a route is refused for this budget (the message of its `Accepted=False`). */
  message: string;
}

/**
 * The budget of bytes routing.json and main.vcl take in the ConfigMap. A routing.json stored in shards
 * (`ghost/contract/routing_shards.ts`) fits when each shard and the manifest beside main.vcl do: its total has no
 * ceiling, but one hostname's routes must fit in one ConfigMap, and so must the CA bundles of its BackendTLSPolicies
 * (their shard). A CA bundle counts once, however many backend groups name it (`caBundles`).
 *
 * @example Usage
 * ```ts
 * import { byteBudget } from "./routing_budget.ts";
 * byteBudget(1024, "vcl 4.1;\n").fits({ routingJson: "{}\n" }); // true
 * ```
 *
 * @param budget The bytes allowed.
 * @param mainVcl The main.vcl text stored next to routing.json.
 * @returns The budget.
 */
export function byteBudget(
  budget: number,
  mainVcl: string,
): RoutingBudget<{
  routingJson: string;
  sharded?: ShardedRouting;
  shardBytes?: (shard: RoutingShard, budget: number, measure: () => number) => number;
}> {
  return {
    // `rendered.routingJson` is read only when it is stored whole: a sharded rendering need not assemble it. A
    // rendering that keeps its unchanged shards' sizes (`shardBytes`) has only its changed shards measured.
    fits: (rendered) => {
      const sharded = rendered.sharded;
      const shardBytes = rendered.shardBytes ?? ((_, __, measure) => measure());
      return sharded
        ? storedBytes(sharded.manifest, mainVcl, budget) <= budget &&
          sharded.shards.every((shard) =>
            shardBytes(shard, budget, () => storedBytes(shard.text, "", budget)) <= budget
          )
        : storedBytes(rendered.routingJson, mainVcl, budget) <= budget;
    },
    message: `The Gateway's routing configuration would exceed its budget of ${budget} bytes (its ConfigMap holds at ` +
      "most 1 MiB; a large one is split by hostname, and one hostname's routes must fit one), so the newest routes " +
      "are left out, this one among them, while the older ones keep serving. " +
      "Remove routes, rules or hostnames of this Gateway.",
  };
}

/** How many regular expressions a Gateway's routing.json may hold, and how many characters they may add up to. */
export interface RegexLimits {
  /** Patterns (path, header and query matches; a rule served under several hostnames counts once per hostname). */
  patterns: number;
  /** Characters of those patterns together. */
  characters: number;
}

/** The default regex budget per Gateway: far above hand-written routes, far below what slows a gateway pod's reload. */
export const REGEX_BUDGET: RegexLimits = { patterns: 1024, characters: 64 * 1024 };

/**
 * The regular expressions of a routing document, counted as gateway pods compile them (per hostname).
 *
 * @example Usage
 * ```ts
 * import { regexCost } from "./routing_budget.ts";
 * regexCost({ vhosts: {} }); // { patterns: 0, characters: 0 }
 * ```
 *
 * @param routing The routing document.
 * @returns The number of patterns and their characters.
 */
export function regexCost(routing: Pick<RoutingJson, "vhosts">): RegexLimits {
  const cost = { patterns: 0, characters: 0 };
  for (const [, vhost] of vhostEntries(routing.vhosts)) {
    const own = vhostRegexCost(vhost);
    cost.patterns += own.patterns;
    cost.characters += own.characters;
  }
  return cost;
}

/** The regex cost of each vhost object: translation reuses unchanged vhosts, so a change counts only its own. */
const vhostCosts = new WeakMap<object, RegexLimits>();

/**
 * The regular expressions one vhost holds (what {@linkcode regexCost} adds up), computed once per vhost object.
 *
 * @param vhost The vhost.
 * @returns Its patterns and their characters.
 */
export function vhostRegexCost(vhost: RoutingJson["vhosts"][string]): RegexLimits {
  let cost = vhostCosts.get(vhost);
  if (cost !== undefined) return cost;
  cost = { patterns: 0, characters: 0 };
  for (const route of vhost.routes) {
    for (const m of route.matches) {
      for (const c of [m.path, ...m.headers, ...m.queryParams]) {
        if (c.type !== "RegularExpression") continue;
        cost.patterns += 1;
        cost.characters += c.value.length;
      }
    }
  }
  vhostCosts.set(vhost, cost);
  return cost;
}

/**
 * The budget of regular expressions in routing.json.
 *
 * @example Usage
 * ```ts
 * import { REGEX_BUDGET, regexBudget } from "./routing_budget.ts";
 * regexBudget(REGEX_BUDGET).fits({ routing: { vhosts: {} } }); // true
 * ```
 *
 * @param limits The patterns and characters allowed.
 * @returns The budget.
 */
export function regexBudget(
  limits: RegexLimits,
): RoutingBudget<{ routing: Pick<RoutingJson, "vhosts">; regexCost?: RegexLimits }> {
  return {
    // a rendering that knows its cost (the route table's totals) is not walked
    fits: (rendered) => {
      const cost = rendered.regexCost ?? regexCost(rendered.routing);
      return cost.patterns <= limits.patterns && cost.characters <= limits.characters;
    },
    message: `The Gateway's routes would hold more than ${limits.patterns} regular expressions or more than ` +
      `${limits.characters} characters of them (a rule counts once per hostname), so the newest routes are left ` +
      "out, this one among them, while the older ones keep serving. Use fewer RegularExpression matches, rules or " +
      "hostnames on this Gateway.",
  };
}

/** The route refused for a budget: not attached, its parentRefs naming the Gateway rejected with the reason. */
function refuse(attached: AttachedRoute, message: string): AttachedRoute {
  const rejection = { reason: "RoutingBudgetExceeded" as const, message };
  return {
    ...attached,
    rejections: new Map(attached.parentRefs.map((ref) => [ref, rejection])),
    attachments: [],
  };
}

/**
 * Fits routes to each budget in turn: keeps the longest prefix of routes (in precedence order: oldest first) whose
 * rendering fits and refuses the rest with that budget's message. Rendering is done O(log n) times per budget, only
 * when everything does not fit.
 *
 * @example Usage
 * ```ts ignore
 * import { byteBudget, fitRoutes } from "./routing_budget.ts";
 * const { routes, rendered } = fitRoutes(attached, render, [byteBudget(ROUTING_BUDGET_BYTES, mainVcl)]);
 * ```
 *
 * @param routes The attached routes, oldest first.
 * @param render Renders routes (refused ones contribute nothing).
 * @param budgets The budgets, applied in order.
 * @returns The routes (`routes` itself when all fit; otherwise a new array, the refused replaced by their
 *   refusals) and their rendering.
 */
export function fitRoutes<T>(
  routes: readonly AttachedRoute[],
  render: (routes: readonly AttachedRoute[]) => T,
  budgets: readonly RoutingBudget<NoInfer<T>>[],
): { routes: readonly AttachedRoute[]; rendered: T } {
  // everything fits (the common case): the routes given, the same array
  let best: { routes: readonly AttachedRoute[]; rendered: T } = { routes, rendered: render(routes) };
  for (const budget of budgets) {
    if (budget.fits(best.rendered)) continue;
    const fitting = best.routes;
    const keep = (n: number) =>
      fitting.map((r, i) => i < n || r.attachments.length === 0 ? r : refuse(r, budget.message));
    // The largest n whose first n routes fit (none always fits: the document without routes is small).
    let [low, high] = [0, fitting.length - 1];
    best = { routes: keep(0), rendered: render(keep(0)) };
    while (low < high) {
      const mid = Math.ceil((low + high) / 2);
      const candidate = keep(mid);
      const rendered = render(candidate);
      if (budget.fits(rendered)) [low, best] = [mid, { routes: candidate, rendered }];
      else high = mid - 1;
    }
  }
  return best;
}
