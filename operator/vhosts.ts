/**
 * Translation stage "build vhosts": the routing.json document of a Gateway from its attached routes. Each
 * hostname a route serves on a served listener gets the route's rule entries, in route precedence order; an
 * entry that several listeners reach through the same hostname appears once, listing those listeners in spec
 * order (ghost's listener isolation). Each entry names the CachePolicy that applies to its rule on its listeners;
 * a rule whose listeners have different ones (listener-level CachePolicies) becomes one entry per policy. Each named
 * policy's settings are written once, in the document's `cachePolicies` table.
 *
 * @module
 */
import { ROUTING_JSON_VERSION, type RoutingJson, vhostEntries, vhostTable } from "../ghost/contract/mod.ts";
import type { AttachedRoute } from "./attach_routes.ts";
import type { ListenerResult } from "./listeners.ts";
import type { RoutingCache } from "./cache_policy/mod.ts";
import type { RuleEntry } from "./rules.ts";

type RouteEntry = RoutingJson["vhosts"][string]["routes"][number];

/** Returns the `namespace/name` of the CachePolicy of a rule served on a listener (undefined: the rule passes). */
export type CacheLookup = (listener: string, id: RuleEntry["id"]) => string | undefined;

/** One rule entry in one vhost with one policy, collecting the listeners it is reached through. */
export interface Slot {
  /** The rule entry. */
  entry: RuleEntry;
  /** The listeners it is reached through (a few: an array is far smaller than a Set, and there is one per entry). */
  listeners: string[];
  /** The CachePolicy that applies to it there. */
  cache: string | undefined;
}

function addEntries(
  slots: Map<RuleEntry, Slot[]>,
  entries: readonly RuleEntry[],
  via: { listener: string; cacheFor: CacheLookup },
): void {
  const { listener, cacheFor } = via;
  for (const entry of entries) {
    const cache = cacheFor(listener, entry.id);
    let list = slots.get(entry);
    if (!list) slots.set(entry, list = []);
    let slot = list.find((s) => s.cache === cache);
    if (!slot) list.push(slot = { entry, listeners: [], cache });
    if (!slot.listeners.includes(listener)) slot.listeners.push(listener);
  }
}

function routeEntry({ entry, listeners, cache }: Slot, order: ReadonlyMap<string, number>): RouteEntry {
  const names = listeners.length === 1 ? listeners : [...listeners].sort((a, b) => order.get(a)! - order.get(b)!);
  // Key order is the contract's (routing_text.ts relies on it).
  return {
    id: entry.id,
    created: entry.created,
    listeners: names,
    matches: entry.matches,
    filters: entry.filters,
    backends: entry.backends,
    ...(entry.mirrors ? { mirrors: entry.mirrors } : {}),
    ...(entry.timeouts ? { timeouts: entry.timeouts } : {}),
    ...(entry.retry ? { retry: entry.retry } : {}),
    ...(cache ? { cache } : {}),
  };
}

/** What the vhosts of a Gateway are built with besides its routes: its served listeners and their spec order. */
export interface VhostContext {
  /** The names of the usable listeners (the others are not served). */
  served: ReadonlySet<string>;
  /** Each listener's position in the Gateway's spec (with its ListenerSets' after it). */
  order: ReadonlyMap<string, number>;
  /** The CachePolicy of a rule on a listener. */
  cacheFor: CacheLookup;
}

/**
 * The served listeners and their order, for {@linkcode buildVhost}.
 *
 * @param listeners The Gateway's validated listeners.
 * @param cacheFor The CachePolicy of a rule on a listener. @default {none: every rule passes}
 * @returns The context.
 */
export function vhostContext(
  listeners: readonly ListenerResult[],
  cacheFor: CacheLookup = () => undefined,
): VhostContext {
  return {
    served: new Set(listeners.filter((l) => l.usable).map((l) => l.listener.name)),
    order: new Map(listeners.map((l, i) => [l.listener.name, i])),
    cacheFor,
  };
}

/** One hostname's vhost with the slots it was built from. */
export interface BuiltVhost {
  /** Its rule entries with their listeners and policies, in precedence order. */
  slots: Slot[];
  /** The vhost. */
  vhost: Vhost;
}

/**
 * Builds one hostname's vhost from the routes that serve it.
 *
 * @param host The hostname.
 * @param routes The attached routes that serve it (others contribute nothing), in precedence order.
 * @param context The served listeners, their order and the CachePolicy lookup.
 * @param last The hostname's previous build: its vhost object is kept when the slots are the same entries,
 *   listeners and policies in the same order, so the serializer's text of it is reused. @default {none}
 * @returns The vhost and its slots.
 */
export function buildVhost(
  host: string,
  routes: Iterable<AttachedRoute>,
  context: VhostContext,
  last?: BuiltVhost,
): BuiltVhost {
  const { served, order, cacheFor } = context;
  const bySlot = new Map<RuleEntry, Slot[]>();
  for (const { rules, attachments } of routes) {
    for (const { listener, hostnames } of attachments) {
      if (served.has(listener) && hostnames.includes(host)) addEntries(bySlot, rules.entries, { listener, cacheFor });
    }
  }
  const slots = [...bySlot.values()].flat();
  const same = last !== undefined && sameSlots(last.slots, slots);
  return { slots, vhost: same ? last.vhost : { routes: slots.map((slot) => routeEntry(slot, order)) } };
}

/**
 * The hostnames attached routes serve on served listeners, each with its routes in their order.
 *
 * @param routes Attached routes, in precedence order.
 * @param served The names of the served listeners.
 * @returns The routes of each hostname, by hostname in first-seen order.
 */
export function routesByHost(
  routes: readonly AttachedRoute[],
  served: ReadonlySet<string>,
): Map<string, AttachedRoute[]> {
  const hosts = new Map<string, AttachedRoute[]>();
  for (const route of routes) {
    for (const { listener, hostnames } of route.attachments) {
      if (!served.has(listener)) continue;
      for (const host of hostnames) {
        const list = hosts.get(host);
        if (!list) hosts.set(host, [route]);
        else if (list[list.length - 1] !== route) list.push(route);
      }
    }
  }
  return hosts;
}

/**
 * Builds the vhost table of a Gateway.
 *
 * @param listeners The Gateway's validated listeners (only usable ones are served).
 * @param routes Its attached routes, in precedence order.
 * @param cacheFor The CachePolicy of a rule on a listener. @default {none: every rule passes}
 * @returns The vhosts, by hostname in sorted order.
 */
export function buildVhosts(
  listeners: readonly ListenerResult[],
  routes: readonly AttachedRoute[],
  cacheFor: CacheLookup = () => undefined,
): RoutingJson["vhosts"] {
  const context = vhostContext(listeners, cacheFor);
  const hosts = routesByHost(routes, context.served);
  return vhostTable([...hosts.keys()].sort().map((host) => [host, buildVhost(host, hosts.get(host)!, context).vhost]));
}

type Vhost = RoutingJson["vhosts"][string];

function sameSlots(a: readonly Slot[], b: readonly Slot[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const [x, y] = [a[i], b[i]];
    if (x.entry !== y.entry || x.cache !== y.cache || x.listeners.length !== y.listeners.length) return false;
    for (const l of x.listeners) if (!y.listeners.includes(l)) return false;
  }
  return true;
}

/**
 * Assembles a Gateway's routing.json document: its usable listeners, the settings of each CachePolicy its entries
 * name and each CA bundle its backend groups name (each table sorted by key, absent when nothing is named), its
 * vhosts, its request settings and its clustered cache.
 *
 * @param listeners The Gateway's validated listeners.
 * @param vhosts Its vhosts ({@linkcode buildVhosts}), or what builds them when first read (the document's `vhosts` is
 *   then an accessor; give `extras.facts` too, or they are built at once).
 * @param extras The gateway-wide request settings, and where the settings of a named CachePolicy and the PEM text
 *   of a named CA bundle come from.
 * @returns The document.
 */
export function routingDocument(
  listeners: readonly ListenerResult[],
  vhosts: RoutingJson["vhosts"] | (() => RoutingJson["vhosts"]),
  extras: {
    /** The gateway-wide request settings. */
    requests?: RoutingJson["requests"];
    /** The clustered cache: the Gateway's own Service, whose ready pods share one cache. */
    cluster?: RoutingJson["cluster"];
    /** The settings of a policy its entries name. @default {none: no entry may name one} */
    settingsOf?: (key: string) => RoutingCache;
    /** The PEM text of a CA bundle its backend groups name (`tls.caBundle`). @default {none: no group may name one} */
    caBundleOf?: (key: string) => string | undefined;
    /** What the vhosts name, when the caller knows it (`RouteTable.totals`). @default {read from the vhosts} */
    facts?: { policies: Iterable<string>; caBundles: Iterable<string> };
  } = {},
): RoutingJson {
  const { requests, cluster, settingsOf = (key) => missing("settings for the cache policy", key) } = extras;
  const caBundleOf = (key: string) => extras.caBundleOf?.(key) ?? missing("CA bundle", key);
  let facts = extras.facts;
  if (facts === undefined) {
    const keys = new Set<string>();
    const bundleKeys = new Set<string>();
    for (const [, vhost] of vhostEntries(typeof vhosts === "function" ? vhosts() : vhosts)) {
      const found = vhostFacts(vhost);
      for (const key of found.policies) keys.add(key);
      for (const key of found.caBundles) bundleKeys.add(key);
    }
    facts = { policies: keys, caBundles: bundleKeys };
  }
  const keys = [...facts.policies].sort();
  const bundleKeys = [...facts.caBundles].sort();
  const cachePolicies = keys.length === 0 ? undefined : Object.fromEntries(keys.map((key) => [key, settingsOf(key)]));
  const caBundles = bundleKeys.length === 0
    ? undefined
    : Object.fromEntries(bundleKeys.map((key) => [key, caBundleOf(key)]));
  const head = {
    version: ROUTING_JSON_VERSION,
    listeners: listeners.filter((l) => l.usable).map((l) => ({
      name: l.listener.name,
      socket: l.socket,
      port: l.listener.port,
      protocol: l.listener.protocol as "HTTP" | "HTTPS",
      ...(l.listener.hostname ? { hostname: l.listener.hostname.toLowerCase() } : {}),
    })),
    ...(cachePolicies ? { cachePolicies } : {}),
    ...(caBundles ? { caBundles } : {}),
  };
  const tail = { ...(requests ? { requests } : {}), ...(cluster ? { cluster } : {}) };
  if (typeof vhosts !== "function") return { ...head, vhosts, ...tail };
  // A plain object whose vhosts table is built on first read, in its place among the keys: a large Gateway stored in
  // shards never needs it whole (its shards come from the route table's groups).
  let table: RoutingJson["vhosts"] | undefined;
  return Object.defineProperties({ ...head, vhosts: {} as RoutingJson["vhosts"], ...tail }, {
    vhosts: { get: () => table ??= vhosts(), enumerable: true, configurable: true },
  });
}

function missing(what: string, key: string): never {
  throw new Error(`No ${what} "${key}"`);
}

/**
 * Lists the namespaces of the Services a routing.json document routes to.
 *
 * @param routing The document.
 * @returns The namespaces, sorted.
 */
export function backendNamespaces(routing: RoutingJson): string[] {
  const namespaces = new Set<string>();
  for (const [, vhost] of vhostEntries(routing.vhosts)) {
    for (const ns of vhostFacts(vhost).namespaces) namespaces.add(ns);
  }
  return [...namespaces].sort();
}

/** What a vhost names: the CachePolicies of its entries, its Services' namespaces and its groups' CA bundles. */
export interface VhostFacts {
  /** The CachePolicies its entries name. */
  policies: readonly string[];
  /** The namespaces of its backends' Services. */
  namespaces: readonly string[];
  /** The CA bundles its backend groups name. */
  caBundles: readonly string[];
}

/** The facts of each vhost object: translation reuses unchanged vhosts (`route_table.ts`), so a change reads only its own. */
const facts = new WeakMap<Vhost, VhostFacts>();

/**
 * What a vhost names: the CachePolicies of its entries, its Services' namespaces and its groups' CA bundles; computed
 * once per vhost object.
 *
 * @param vhost The vhost.
 * @returns Its facts.
 */
export function vhostFacts(vhost: Vhost): VhostFacts {
  let found = facts.get(vhost);
  if (found !== undefined) return found;
  const policies = new Set<string>();
  const namespaces = new Set<string>();
  const caBundles = new Set<string>();
  for (const route of vhost.routes) {
    if (typeof route.cache === "string") policies.add(route.cache);
    for (const backend of route.backends) {
      if (backend.service) namespaces.add(backend.service.namespace);
      if (backend.tls?.caBundle) caBundles.add(backend.tls.caBundle);
    }
    for (const { backend } of route.mirrors ?? []) if (backend.tls?.caBundle) caBundles.add(backend.tls.caBundle);
  }
  facts.set(vhost, found = { policies: [...policies], namespaces: [...namespaces], caBundles: [...caBundles] });
  return found;
}
