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
import { ROUTING_JSON_VERSION, type RoutingJson } from "../ghost/contract/mod.ts";
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

/**
 * Builds the vhost table of a Gateway.
 *
 * @param listeners The Gateway's validated listeners (only usable ones are served).
 * @param routes Its attached routes, in precedence order.
 * @param cacheFor The CachePolicy of a rule on a listener. @default {none: every rule passes}
 * @param reuse The vhosts of the previous call for this Gateway ({@linkcode VhostReuse}): a hostname whose entries
 *   are the same keeps its vhost object, so the serializer's text of it is reused. @default {none}
 * @returns The vhosts, by hostname in sorted order.
 */
export function buildVhosts(
  listeners: readonly ListenerResult[],
  routes: readonly AttachedRoute[],
  cacheFor: CacheLookup = () => undefined,
  reuse?: VhostReuse,
): RoutingJson["vhosts"] {
  const served = new Set(listeners.filter((l) => l.usable).map((l) => l.listener.name));
  const order = new Map(listeners.map((l, i) => [l.listener.name, i]));
  const hosts = new Map<string, Map<RuleEntry, Slot[]>>();
  for (const { rules, attachments } of routes) {
    for (const { listener, hostnames } of attachments) {
      if (!served.has(listener)) continue;
      for (const host of hostnames) {
        let slots = hosts.get(host);
        if (!slots) hosts.set(host, slots = new Map());
        addEntries(slots, rules.entries, { listener, cacheFor });
      }
    }
  }
  const previous = reuse?.last;
  const next = new Map<string, { slots: Slot[]; vhost: Vhost }>();
  const vhosts = Object.fromEntries(
    [...hosts.keys()].sort().map((host) => {
      const slots = [...hosts.get(host)!.values()].flat();
      const last = previous?.get(host);
      const vhost = last && sameSlots(last.slots, slots)
        ? last.vhost
        : { routes: slots.map((slot) => routeEntry(slot, order)) };
      next.set(host, { slots, vhost });
      return [host, vhost];
    }),
  );
  if (reuse) reuse.last = next;
  return vhosts;
}

type Vhost = RoutingJson["vhosts"][string];

/**
 * The vhosts one Gateway's last {@linkcode buildVhosts} call built, with the slots each was built from. Keep one per
 * Gateway (`TranslationMemo.vhosts`): a vhost is reused only when its slots are the same entries, listeners and
 * policies, in the same order, so the result is always what a fresh call builds.
 */
export interface VhostReuse {
  /** By hostname; replaced by each call. */
  last?: Map<string, { slots: Slot[]; vhost: Vhost }>;
}

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
 * name (sorted by key; no table when none does), its vhosts, its request settings and its clustered cache.
 *
 * @param listeners The Gateway's validated listeners.
 * @param vhosts Its vhosts ({@linkcode buildVhosts}).
 * @param extras The gateway-wide request settings, and where the settings of a named CachePolicy come from.
 * @returns The document.
 */
export function routingDocument(
  listeners: readonly ListenerResult[],
  vhosts: RoutingJson["vhosts"],
  extras: {
    /** The gateway-wide request settings. */
    requests?: RoutingJson["requests"];
    /** The clustered cache: the Gateway's own Service, whose ready pods share one cache. */
    cluster?: RoutingJson["cluster"];
    /** The settings of a policy its entries name. @default {none: no entry may name one} */
    settingsOf?: (key: string) => RoutingCache;
  } = {},
): RoutingJson {
  const {
    requests,
    cluster,
    settingsOf = (key) => {
      throw new Error(`No settings for the cache policy "${key}"`);
    },
  } = extras;
  const keys = new Set<string>();
  for (const vhost of Object.values(vhosts)) for (const key of vhostFacts(vhost).policies) keys.add(key);
  const cachePolicies = keys.size === 0
    ? undefined
    : Object.fromEntries([...keys].sort().map((key) => [key, settingsOf(key)]));
  return {
    version: ROUTING_JSON_VERSION,
    listeners: listeners.filter((l) => l.usable).map((l) => ({
      name: l.listener.name,
      socket: l.socket,
      port: l.listener.port,
      protocol: l.listener.protocol as "HTTP" | "HTTPS",
      ...(l.listener.hostname ? { hostname: l.listener.hostname.toLowerCase() } : {}),
    })),
    ...(cachePolicies ? { cachePolicies } : {}),
    vhosts,
    ...(requests ? { requests } : {}),
    ...(cluster ? { cluster } : {}),
  };
}

/**
 * Lists the namespaces of the Services a routing.json document routes to.
 *
 * @param routing The document.
 * @returns The namespaces, sorted.
 */
export function backendNamespaces(routing: RoutingJson): string[] {
  const namespaces = new Set<string>();
  for (const vhost of Object.values(routing.vhosts)) for (const ns of vhostFacts(vhost).namespaces) namespaces.add(ns);
  return [...namespaces].sort();
}

/** What a vhost names: the CachePolicies of its entries and its Services' namespaces. */
interface VhostFacts {
  policies: readonly string[];
  namespaces: readonly string[];
}

/** The facts of each vhost object: {@linkcode buildVhosts} reuses unchanged vhosts, so a change reads only its own. */
const facts = new WeakMap<Vhost, VhostFacts>();

function vhostFacts(vhost: Vhost): VhostFacts {
  let found = facts.get(vhost);
  if (found !== undefined) return found;
  const policies = new Set<string>();
  const namespaces = new Set<string>();
  for (const route of vhost.routes) {
    if (typeof route.cache === "string") policies.add(route.cache);
    for (const backend of route.backends) if (backend.service) namespaces.add(backend.service.namespace);
  }
  facts.set(vhost, found = { policies: [...policies], namespaces: [...namespaces] });
  return found;
}
