/**
 * The translation's memo: results computed for one API object, reused by later translations while that object and
 * everything the result read are unchanged. This is what makes regenerating routing.json after one route changed
 * cost little more than that route (5,000 routes: `deno task bench:operator`).
 *
 * Why it is correct: parsed API objects are immutable and the caches replace an object on every change, so an
 * object's identity stands for its content. Each entry is keyed weakly by the object it was computed from (it
 * dies with it) and records what else it read, checked before reuse: a route's rules record their dependency
 * keys (`dependencies.ts`), an attachment records the Gateway, its listeners, the rules and the namespace.
 *
 * Lifetime: one memo per `GatewayController`, that is per operator process; a relist (a new object
 * for everything) simply misses. {@linkcode translate} without a memo uses a fresh one, so one translation
 * still computes a route's rules once for all its Gateways.
 *
 * @module
 */
import type { Gateway, HttpRoute } from "./api_types.ts";
import type { AttachedRoute } from "./attach_routes.ts";
import type { CachePolicy, ValidatedPolicy } from "./cache_policy/mod.ts";
import type { RoutingConfigMapData } from "../internal/routing_config_map.ts";
import type { TrackedDependencies } from "./dependencies.ts";
import type { RouteText } from "./routing_text.ts";
import type { RulesResult, StaticRule } from "./rules.ts";
import type { RouteStatusResult } from "./status/route_parent.ts";
import type { VhostReuse } from "./vhosts.ts";

/** A route's attachment to a Gateway with what it was computed from, besides the route it is keyed by. */
export interface MemoisedAttachment {
  /** The Gateway object. */
  gateway: unknown;
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
}

/** Memoised translation results; see the module documentation for the lifetime. */
export class TranslationMemo {
  /** Each route's rules without backends (matches, filters): they depend on the route object alone. */
  readonly staticRules: WeakMap<HttpRoute, StaticRule[]> = new WeakMap();
  /** Each route's translated rules, with the Services and grants they read. */
  readonly rules: WeakMap<HttpRoute, { result: RulesResult; deps: TrackedDependencies }> = new WeakMap();
  /**
   * Each route's latest attachment, with what it was computed from. One per route: a route whose parentRefs name
   * several Gateways is recomputed when another Gateway is translated (rare, and cheap).
   */
  readonly attachments: WeakMap<HttpRoute, MemoisedAttachment> = new WeakMap();
  /**
   * Each CachePolicy's validation and cache object. The same cache object for an unchanged policy lets routing_text.ts
   * reuse its text.
   */
  readonly policies: WeakMap<CachePolicy, ValidatedPolicy> = new WeakMap();
  /**
   * The JSON text of each routing.json route entry around its listeners, by the entry's matches array; and of each
   * vhost, by the vhost object.
   */
  readonly routeText: WeakMap<object, RouteText | string> = new WeakMap();
  /** The vhosts last built for each Gateway, reused for the hostnames whose entries did not change. */
  readonly vhosts: WeakMap<Gateway, VhostReuse> = new WeakMap();
  /**
   * The text and hash of each routing.json shard last rendered for a Gateway, by shard name: a shard whose text did
   * not change keeps its hash and its ConfigMap data (comparing texts is far cheaper than hashing and compressing
   * megabytes again on every change).
   */
  readonly shardHashes: WeakMap<Gateway, Map<string, ShardMemo>> = new WeakMap();
  /**
   * Each Gateway with the HTTPS listeners its Ingresses' TLS adds (`ingress/`), by the listeners' JSON: the same object
   * while they are the same, so the attachments of its routes are reused.
   */
  readonly ingressGateways: WeakMap<Gateway, { listeners: string; gateway: Gateway }> = new WeakMap();
}
