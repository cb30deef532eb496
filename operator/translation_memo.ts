/**
 * The translation's memo: results computed for one API object, reused by later translations while that object and
 * everything the result read are unchanged. This is what makes regenerating routing.json after one route changed
 * cost little more than that route (5,000 routes: `deno task bench:operator`).
 *
 * Why it is correct: parsed API objects are immutable and the caches replace an object on every change, so an
 * object's identity stands for its content. The caches keep an object's spec object while its spec is the same
 * (`kind_cache.ts`: a status write makes a new object with the old spec), and route and Gateway entries are keyed by
 * spec, so the operator's own status writes cost no translation. Each entry is keyed weakly by the object it was
 * computed from (it dies with it) and records what else it read, checked before reuse: a route's rules record their
 * dependency keys (`dependencies.ts`) and the route's identity, an attachment records the Gateway's spec and key,
 * its listeners, the rules and the namespace.
 *
 * Lifetime: one memo per `GatewayController`, that is per operator process; a relist (a new object
 * for everything) simply misses. {@linkcode translate} without a memo uses a fresh one, so one translation
 * still computes a route's rules once for all its Gateways.
 *
 * @module
 */
import type { AlignedWalk } from "./aligned_walk.ts";
import type { Gateway, HttpRoute } from "./api_types.ts";
import type { AttachedRoute } from "./attach_routes.ts";
import type { CachePolicy, ValidatedPolicy } from "./cache_policy/mod.ts";
import type { RoutingConfigMapData } from "../internal/routing_config_map.ts";
import type { TrackedDependencies } from "./dependencies.ts";
import type { RouteTable } from "./route_table.ts";
import type { GatewayResult, StatusFacts } from "./translate.ts";
import type { RouteText } from "./routing_text.ts";
import type { RulesResult, StaticRule } from "./rules.ts";
import type { RouteStatusResult } from "./status/route_parent.ts";

/**
 * What the route entries are keyed by: a route's spec. The operator's cache keeps the spec object of a route whose
 * spec did not change (`kind_cache.ts`), so a route whose status alone was written (by this operator, on every route
 * after its start) still hits. The other route fields translation reads (namespace, name, creation time,
 * generation) are the same for the same spec object, and the status it reads only for transition times.
 */
export type RouteSpec = HttpRoute["spec"];

const identities = new WeakMap<HttpRoute, string>();

/**
 * The route fields besides its spec that translation reads, as text: a memo entry found by a route's spec is used
 * only for a route with the same identity (two routes may share a spec object, e.g. one spread from the other). Its
 * order is the routes' precedence order (creation time, then `namespace/name`), so it sorts them too.
 *
 * @example Usage
 * ```ts
 * import { routeIdentity } from "./translation_memo.ts";
 * import { httpRouteSchema } from "./api_types.ts";
 * routeIdentity(httpRouteSchema.parse({ metadata: { name: "r", namespace: "web" }, spec: {} })); // "\0web/r\0\0"
 * ```
 *
 * @param route The route.
 * @returns Its creation time, namespace, name, uid and generation.
 */
export function routeIdentity(route: HttpRoute): string {
  let identity = identities.get(route);
  if (identity === undefined) {
    const m = route.metadata;
    // NUL sorts first: a name that is a prefix of another sorts before it, as the plain keys do
    identity = `${m.creationTimestamp ?? ""}\0${m.namespace ?? ""}/${m.name}\0${m.uid ?? ""}\0${m.generation ?? ""}`;
    identities.set(route, identity);
  }
  return identity;
}

/** A route's attachment to a Gateway with what it was computed from, besides the route it is keyed by. */
export interface MemoisedAttachment {
  /** The route's {@linkcode routeIdentity}. */
  identity: string;
  /** The Gateway's spec object. */
  gateway: unknown;
  /** The Gateway's `namespace/name`. */
  gatewayKey: string;
  /** Everything about the listeners that attachment reads, as text. */
  listeners: string;
  /** The route's rules result. */
  rules: RulesResult;
  /** The route's Namespace object (label selectors). */
  namespace: unknown;
  /** The attachment. */
  result: AttachedRoute;
  /**
   * Our parent status entries for it (the Gateway first, then each ListenerSet it names), once computed. Reusing the same entries object for an unchanged route lets
   * the status writer skip comparing it with the cluster's again.
   */
  status?: RouteStatusResult[];
}

/** A routing.json shard last rendered for a Gateway, with what was computed from its text. */
export interface ShardMemo {
  /** Its text. */
  text: string;
  /** Its content hash. */
  hash: string;
  /** Its ConfigMap's data (gzipped beyond 32 KiB), once computed. */
  data?: RoutingConfigMapData;
  /** Its stored size as a routing budget of `budget` bytes measured it (`routing_budget.ts`), once measured. */
  stored?: { budget: number; bytes: number };
  /** The document-wide fields it was rendered with, as text. */
  head: string;
  /** Its hostnames, in order. */
  hosts: readonly string[];
  /** Their vhost objects: the same objects under the same head render the same text. */
  vhosts: readonly object[];
  /** The vhosts table it was rendered from (the route table's shard group: the same object while it holds the same). */
  table: object;
}

/** Memoised translation results; see the module documentation for the lifetime. */
export class TranslationMemo {
  /** Each route's rules without backends (matches, filters): they depend on the route's spec alone. */
  readonly staticRules: WeakMap<RouteSpec, { identity: string; rules: StaticRule[] }> = new WeakMap();
  /** Each route's translated rules, with the Services and grants they read. */
  readonly rules: WeakMap<RouteSpec, { identity: string; result: RulesResult; deps: TrackedDependencies }> =
    new WeakMap();
  /**
   * Each route's latest attachment, with what it was computed from. One per route: a route whose parentRefs name
   * several Gateways is recomputed when another Gateway is translated (rare, and cheap).
   */
  readonly attachments: WeakMap<RouteSpec, MemoisedAttachment> = new WeakMap();
  /**
   * Each CachePolicy's validation and cache object. The same cache object for an unchanged policy lets routing_text.ts
   * reuse its text.
   */
  readonly policies: WeakMap<CachePolicy, ValidatedPolicy> = new WeakMap();
  /** The JSON text of each routing.json route entry around its listeners, by the entry's matches array. */
  readonly routeText: WeakMap<object, RouteText> = new WeakMap();
  /**
   * Each Gateway's attached routes and vhosts, indexed for incremental translation (`route_table.ts`), by its
   * `namespace/name`; dropped when the Gateway is gone or no longer ours.
   */
  readonly routeTables: Map<string, RouteTable> = new Map();
  /**
   * The last walk of the routes by the snapshot's index (`aligned_walk.ts`), by the Gateways translated
   * (`TranslateOptions.gateways`, joined; `*` for all): the operator translates one Gateway at a time, each with its
   * own routes. Dropped with the route table of a Gateway that is gone.
   */
  readonly routeWalks: Map<string, AlignedWalk<HttpRoute, readonly string[] | null>> = new Map();
  /**
   * Each Gateway's last result with what its status was computed from besides its pods and its object, by its
   * `namespace/name` (`restatusGateway` in `translate.ts`); dropped as its route table is.
   */
  readonly gatewayStatus: Map<string, { result: GatewayResult; facts: StatusFacts }> = new Map();
  /**
   * The text and hash of each routing.json shard last rendered for a Gateway, by shard name: a shard whose text did
   * not change keeps its hash and its ConfigMap data (comparing texts is far cheaper than hashing and compressing
   * megabytes again on every change).
   */
  readonly shardHashes: WeakMap<Gateway["spec"], Map<string, ShardMemo>> = new WeakMap();
  /**
   * Each Gateway with the HTTPS listeners its Ingresses' TLS adds (`ingress/`), by the listeners' JSON: the same object
   * while they are the same, so the attachments of its routes are reused.
   */
  readonly ingressGateways: WeakMap<Gateway, { listeners: string; gateway: Gateway }> = new WeakMap();
}
