/**
 * A Gateway's attached routes kept from one translation to the next, indexed by what a change touches, so that
 * translating after one route changed costs that route and the routes sharing its hostnames, not the whole Gateway:
 *
 * - route → its hostnames, listeners, dependency keys and namespace (what it was attached with);
 * - hostname → the routes serving it, and its vhost with the slots it was built from;
 * - dependency key (`dependencies.ts`) → the routes whose rules read it, with what it resolved to; namespace → the
 *   routes in it, with its Namespace object (listeners select namespaces by label);
 * - the routes in precedence order, each listener's route count, and each route's status entries.
 *
 * {@linkcode RouteTable.update} finds what changed: a route object it does not hold (new, changed, or a status
 * write), a route it holds that is gone, a dependency key or Namespace that resolves to another object now. It
 * attaches those routes again (through the memo, `attach_routes.ts`) and rebuilds only the vhosts of the hostnames
 * they served or serve (every hostname's when the CachePolicies are other objects). Everything else a table holds was
 * computed under its {@linkcode RouteTableContext}: the Gateway's spec, its listeners as attachment and vhosts read
 * them and its ListenerSets; when one differs, translation starts a new table (`translate.ts`). Level-triggered: the table is a cache of what a fresh
 * translation computes from the same snapshot (`translate_incremental_test.ts` compares them after random changes).
 * Pure.
 *
 * @module
 */
import { type RoutingJson, vhostEntries, vhostTable } from "../ghost/contract/mod.ts";
import type { HttpRoute } from "./api_types.ts";
import type { AttachedRoute } from "./attach_routes.ts";
import { AlignedWalk } from "./aligned_walk.ts";
import { dependenciesUnchanged, routeDependencies, trackDependencies } from "./dependencies.ts";
import { keyOf, type SnapshotIndex } from "./snapshot_index.ts";
import type { RouteStatusResult } from "./status/mod.ts";
import { routeIdentity } from "./translation_memo.ts";
import { buildVhost, type BuiltVhost, type VhostContext } from "./vhosts.ts";
import { type VhostContribution, VhostTotals } from "./vhost_totals.ts";

/** What every result a table holds was computed under, besides the routes and their dependencies. */
export interface RouteTableContext {
  /** The Gateway's `namespace/name`. */
  key: string;
  /** The Gateway's spec object. */
  gateway: unknown;
  /** Its listeners as attachment, vhosts and status read them (spec, attachability, kinds, usability, ListenerSets), as text. */
  listeners: string;
}

/** One route of the table. */
interface Entry {
  key: string;
  route: HttpRoute;
  identity: string;
  attached: AttachedRoute;
  /** The hostnames it serves on served listeners. */
  hosts: string[];
  /** The listeners it attached to (served or not): each counts it once. */
  listeners: string[];
  /** The dependency keys of its rules. */
  deps: readonly string[];
  /** Its namespace. */
  namespace: string;
  /** Our parent status entries, once computed. */
  status?: RouteStatusResult[];
  /** The last update that found it among the routes. */
  seen: number;
  /** Whether it is (still) in the table. */
  live: boolean;
}

/** The routes that read one dependency key or one Namespace, with what it resolved to when they were attached. */
interface Readers {
  value: unknown;
  routes: Set<Entry>;
}

/** A change to apply: the entry a route had, the route now (absent: gone). */
interface Change {
  old?: Entry;
  route?: HttpRoute;
}

function sameContext(a: RouteTableContext, b: RouteTableContext): boolean {
  return a.key === b.key && a.gateway === b.gateway && a.listeners === b.listeners;
}

/** The position of the first entry whose identity sorts after `identity`. */
function insertionPoint(entries: readonly Entry[], identity: string): number {
  let [low, high] = [0, entries.length];
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (entries[mid].identity <= identity) low = mid + 1;
    else high = mid;
  }
  return low;
}

function addReader(map: Map<string, Readers>, key: string, entry: Entry, value: () => unknown): void {
  let readers = map.get(key);
  if (readers === undefined) map.set(key, readers = { value: value(), routes: new Set() });
  readers.routes.add(entry);
}

function removeReader(map: Map<string, Readers>, key: string, entry: Entry): void {
  const readers = map.get(key);
  if (readers === undefined) return;
  readers.routes.delete(entry);
  if (readers.routes.size === 0) map.delete(key);
}

/** A Gateway's attached routes, indexed for incremental translation; see the module documentation. */
export class RouteTable {
  /** What its results were computed under. */
  readonly context: RouteTableContext;
  #byKey = new Map<string, Entry>();
  #byRoute = new WeakMap<HttpRoute, Entry>();
  /** The entries in precedence order (creation time, then `namespace/name`), and their attachments alike. */
  #sorted: Entry[] = [];
  #attached: AttachedRoute[] = [];
  #hostRoutes = new Map<string, Set<Entry>>();
  /** The hostnames with routes, sorted; and each one's vhost. */
  #hosts: string[] = [];
  #vhosts = new Map<string, BuiltVhost>();
  #deps = new Map<string, Readers>();
  #namespaces = new Map<string, Readers>();
  #counts = new Map<string, number>();
  /** The CachePolicies the vhosts were built with. */
  #policies: readonly unknown[] = [];
  /**
   * Each entry's one status entry in precedence order, while every entry has exactly one (no ListenerSets): kept by
   * splicing as entries come and go, so that a change does not gather every route's entries again. A slot of an
   * entry added since is empty until {@linkcode RouteTable.statuses} fills it; undefined: gathered again.
   */
  #flat: (RouteStatusResult | undefined)[] | undefined;
  /** The entries added since the last {@linkcode RouteTable.statuses}, whose slot in `#flat` is empty. */
  #pending = new Set<Entry>();
  /** Per hostname rebuilt since the totals were last asked for, its vhost before (undefined: it had none). */
  #retotal = new Map<string, BuiltVhost | undefined>();
  #totals: VhostTotals | undefined;
  /** The hostnames whose vhost was built again (or dropped) since the shard groups were last asked for. */
  #regrouped = new Set<string>();
  /** The hostnames of each shard for a shard count, sorted, and each shard's vhosts table (never changed: replaced). */
  #groups: { count: number; hosts: Map<number, string[]>; tables: Map<number, RoutingJson["vhosts"]> } | undefined;
  /**
   * The last update's routes, each with the entry that held it, or the route key of the entry made for it (a new or
   * changed route).
   */
  #walk = new AlignedWalk<HttpRoute, Entry | string | undefined>();
  /** Whether the entries of the last walk still hold their routes and no route was in it twice. */
  #trusted = false;
  #epoch = 0;
  /** An update threw halfway: what the table holds is not to be trusted. */
  #broken = false;

  /**
   * Creates an empty table.
   *
   * @param context What its results are computed under.
   * @param previous The table it replaces: a hostname whose slots come out the same keeps its vhost object (and so
   *   its serialized text). @default {none}
   */
  constructor(context: RouteTableContext, previous?: RouteTable) {
    this.context = context;
    if (previous) this.#vhosts = previous.#vhosts;
  }

  /**
   * Tells whether the table's results were computed under this context (and no update of it failed).
   *
   * @param context The current context.
   * @returns True when they were.
   */
  fits(context: RouteTableContext): boolean {
    return !this.#broken && sameContext(this.context, context);
  }

  /**
   * Brings the table up to date with the Gateway's routes.
   *
   * @param routes Every route that names the Gateway (any order), as the snapshot holds them.
   * @param attach Attaches one route to the Gateway (`attachToGateway`, through the memo).
   * @param index The snapshot's index (what dependency keys and namespaces resolve to).
   * @param vhosts The served listeners, their order and the CachePolicy lookup, with the CachePolicies it reads:
   *   when they are other objects, every hostname's vhost is built again.
   * @returns The number of routes attached again and of hostnames rebuilt.
   */
  update(
    routes: readonly HttpRoute[],
    attach: (route: HttpRoute) => AttachedRoute,
    index: SnapshotIndex,
    vhosts: VhostContext & { policies: readonly unknown[] },
  ): { routes: number; hosts: number } {
    try {
      return this.#update(routes, attach, index, vhosts);
    } catch (err) {
      this.#broken = true;
      throw err;
    }
  }

  #update(
    routes: readonly HttpRoute[],
    attach: (route: HttpRoute) => AttachedRoute,
    index: SnapshotIndex,
    vhosts: VhostContext & { policies: readonly unknown[] },
  ): { routes: number; hosts: number } {
    const epoch = ++this.#epoch;
    const changes = new Map<string, Change>();
    let seen = 0;
    // The routes come in the same order as last time: most are found at their place, without a lookup. While the
    // last walk's entries are trusted, one found at its place is taken as it is (its entry is not even read: at tens
    // of thousands of routes, reading each entry is most of the walk: the walk keeps its value without asking, a route
    // key of an entry made by the last update among them), and the gone routes are those of the last walk not found at
    // their place that no lookup found either.
    const trusted = this.#trusted;
    const missed: (Entry | string)[] = [];
    this.#walk.walk(
      routes,
      (route, kept) => {
        if (trusted && typeof kept === "object") return kept;
        const held = typeof kept === "object" && kept.route === route ? kept : this.#byRoute.get(route);
        if (held !== undefined && held.live && held.route === route) {
          if (held.seen !== epoch) seen++;
          held.seen = epoch;
          return held;
        }
        const key = keyOf(route.metadata.namespace, route.metadata.name);
        const old = this.#byKey.get(key);
        if (old !== undefined && old.seen !== epoch) {
          old.seen = epoch;
          seen++;
        }
        changes.set(key, { old, route });
        // its entry is made below: the next walk finds it by key
        return key;
      },
      trusted ? (value) => value !== undefined && missed.push(value) : undefined,
      trusted,
    );
    if (trusted) {
      for (const value of missed) {
        const entry = typeof value === "string" ? this.#byKey.get(value) : value;
        if (entry?.live && entry.seen !== epoch && !changes.has(entry.key)) changes.set(entry.key, { old: entry });
      }
    } else if (seen < this.#byKey.size) {
      for (const [key, entry] of this.#byKey) if (entry.seen !== epoch) changes.set(key, { old: entry });
    }
    // Routes whose Services, grants, BackendTLSPolicies or Namespace are other objects now: attached again.
    const stale = (
      map: Map<string, Readers>,
      same: (key: string, value: unknown) => boolean,
      current: (key: string) => unknown,
    ) => {
      for (const [key, readers] of map) {
        if (same(key, readers.value)) continue;
        readers.value = current(key);
        for (const entry of readers.routes) {
          if (!changes.has(entry.key)) changes.set(entry.key, { old: entry, route: entry.route });
        }
      }
    };
    stale(
      this.#deps,
      (key, value) => dependenciesUnchanged(index, [[key, value]]),
      (key) => trackDependencies(index, [key])[0][1],
    );
    stale(this.#namespaces, (ns, value) => index.namespaces.get(ns) === value, (ns) => index.namespaces.get(ns));
    const hosts = new Set<string>();
    // another CachePolicy may apply to any entry: every vhost is built again
    const policies = vhosts.policies;
    if (policies.length !== this.#policies.length || policies.some((p, i) => p !== this.#policies[i])) {
      for (const host of this.#hostRoutes.keys()) hosts.add(host);
      this.#policies = policies;
    }
    let attached = 0;
    let untrust = false;
    const [removed, added]: Entry[][] = [[], []];
    for (const [key, { old, route }] of changes) {
      const result = route && attach(route);
      attached += route ? 1 : 0;
      if (old !== undefined && route !== undefined && result === old.attached) {
        // the same attachment (a status write): only the object changed
        this.#byRoute.set(route, old);
        old.route = route;
        continue;
      }
      // an entry the walk took at its place is replaced: the next walk reads what it finds
      if (old !== undefined && route === old.route) untrust = true;
      if (old !== undefined) this.#remove(old, hosts, removed);
      if (route !== undefined) {
        added.push(this.#add(key, route, result!, { index, epoch, served: vhosts.served }, hosts));
      }
    }
    this.#reorder(removed, added);
    // every route of this walk has its own entry (no route twice), none replaced since the walk took it
    this.#trusted = !untrust && routes.length === this.#byKey.size;
    for (const host of hosts) this.#rebuild(host, vhosts);
    // a new table starts from its predecessor's vhosts: those of hostnames it no longer has go
    if (this.#vhosts.size > this.#hosts.length) {
      for (const host of this.#vhosts.keys()) if (!this.#hostRoutes.has(host)) this.#vhosts.delete(host);
    }
    return { routes: attached, hosts: hosts.size };
  }

  #add(
    key: string,
    route: HttpRoute,
    attached: AttachedRoute,
    at: { index: SnapshotIndex; epoch: number; served: ReadonlySet<string> },
    hosts: Set<string>,
  ): Entry {
    const served = new Set<string>();
    const listeners = new Set<string>();
    for (const { listener, hostnames } of attached.attachments) {
      listeners.add(listener);
      if (at.served.has(listener)) { for (const host of hostnames) served.add(host); }
    }
    const namespace = route.metadata.namespace ?? "";
    const entry: Entry = {
      key,
      route,
      identity: routeIdentity(route),
      attached,
      hosts: [...served],
      listeners: [...listeners],
      deps: routeDependencies(route),
      namespace,
      seen: at.epoch,
      live: true,
    };
    this.#byKey.set(key, entry);
    this.#byRoute.set(route, entry);
    for (const host of entry.hosts) {
      let set = this.#hostRoutes.get(host);
      if (set === undefined) this.#hostRoutes.set(host, set = new Set());
      set.add(entry);
      hosts.add(host);
    }
    for (const listener of entry.listeners) this.#counts.set(listener, (this.#counts.get(listener) ?? 0) + 1);
    for (const dep of entry.deps) addReader(this.#deps, dep, entry, () => trackDependencies(at.index, [dep])[0][1]);
    addReader(this.#namespaces, namespace, entry, () => at.index.namespaces.get(namespace));
    return entry;
  }

  #remove(entry: Entry, hosts: Set<string>, removed: Entry[]): void {
    entry.live = false;
    this.#byKey.delete(entry.key);
    removed.push(entry);
    for (const host of entry.hosts) {
      const set = this.#hostRoutes.get(host)!;
      set.delete(entry);
      if (set.size === 0) this.#hostRoutes.delete(host);
      hosts.add(host);
    }
    for (const listener of entry.listeners) {
      const count = this.#counts.get(listener)! - 1;
      if (count === 0) this.#counts.delete(listener);
      else this.#counts.set(listener, count);
    }
    for (const dep of entry.deps) removeReader(this.#deps, dep, entry);
    removeReader(this.#namespaces, entry.namespace, entry);
  }

  /**
   * Takes the removed entries out of the precedence order and puts the added ones in: one by one (a binary search and
   * a move of the array's tail) for a few, by sorting for many (the first update, a new table).
   */
  #reorder(removed: readonly Entry[], added: Entry[]): void {
    const sorted = this.#sorted;
    if (removed.length + added.length > 64) {
      const kept = removed.length > 0 ? sorted.filter((e) => e.live) : sorted;
      this.#sorted = kept.concat(added).sort((a, b) => (a.identity < b.identity ? -1 : 1));
      this.#attached = this.#sorted.map((e) => e.attached);
      this.#flat = undefined;
      this.#pending.clear();
      return;
    }
    for (const entry of removed) {
      const i = insertionPoint(sorted, entry.identity) - 1;
      if (sorted[i] !== entry) throw new Error(`The route table lost the order of ${entry.key}`);
      sorted.splice(i, 1);
      this.#attached.splice(i, 1);
      this.#flat?.splice(i, 1);
      this.#pending.delete(entry);
    }
    for (const entry of added) {
      const i = insertionPoint(sorted, entry.identity);
      sorted.splice(i, 0, entry);
      this.#attached.splice(i, 0, entry.attached);
      if (this.#flat !== undefined) {
        this.#flat.splice(i, 0, undefined);
        this.#pending.add(entry);
      }
    }
  }

  /** Builds one hostname's vhost again from the routes serving it, or drops it when none does. */
  #rebuild(host: string, context: VhostContext): void {
    this.#regrouped.add(host);
    const at = insertionPointOf(this.#hosts, host);
    const listed = this.#hosts[at] === host;
    // what the totals counted of it: its vhost while it was listed (the list changes here only)
    if (this.#totals !== undefined && !this.#retotal.has(host)) {
      this.#retotal.set(host, listed ? this.#vhosts.get(host) : undefined);
    }
    const set = this.#hostRoutes.get(host);
    if (set === undefined) {
      if (listed) this.#hosts.splice(at, 1);
      this.#vhosts.delete(host);
      return;
    }
    if (!listed) this.#hosts.splice(at, 0, host);
    const routes = [...set].sort((a, b) => (a.identity < b.identity ? -1 : 1)).map((e) => e.attached);
    this.#vhosts.set(host, buildVhost(host, routes, context, this.#vhosts.get(host)));
  }

  /**
   * The attached routes in precedence order. The array is the table's own, changed by the next update: read it
   * before then, never change it.
   */
  get attached(): readonly AttachedRoute[] {
    return this.#attached;
  }

  /**
   * The vhosts of every route in the table, by hostname in sorted order (what `buildVhosts` builds from
   * {@linkcode RouteTable.attached}).
   *
   * @returns A new object; the vhost objects are the table's, kept while their hostname's slots are the same.
   */
  vhosts(): RoutingJson["vhosts"] {
    return vhostTable(this.#hosts.map((host) => [host, this.#vhosts.get(host)!.vhost]));
  }

  /**
   * The vhosts of {@linkcode RouteTable.vhosts} grouped into `count` shards (what `shardRouting` groups them into):
   * after a change only the shards of the hostnames it rebuilt are grouped again, each as a new table; the others are
   * the same objects as last time.
   *
   * @param count The number of shards.
   * @param shardOf The shard of a hostname (`shardOfHost`).
   * @returns The vhosts of each non-empty shard, by shard number; the map is the table's own, read it before the next
   *   update.
   */
  shardGroups(
    count: number,
    shardOf: (host: string, count: number) => number,
  ): ReadonlyMap<number, RoutingJson["vhosts"]> {
    const table = (hosts: readonly string[]) => vhostTable(hosts.map((host) => [host, this.#vhosts.get(host)!.vhost]));
    let groups = this.#groups;
    if (groups?.count !== count) {
      groups = this.#groups = { count, hosts: new Map(), tables: new Map() };
      for (const host of this.#hosts) {
        const k = shardOf(host, count);
        const list = groups.hosts.get(k);
        if (list === undefined) groups.hosts.set(k, [host]);
        else list.push(host);
      }
      for (const [k, hosts] of groups.hosts) groups.tables.set(k, table(hosts));
    } else {
      const touched = new Set<number>();
      for (const host of this.#regrouped) {
        const k = shardOf(host, count);
        const list = groups.hosts.get(k) ?? [];
        const at = insertionPointOf(list, host);
        const listed = list[at] === host;
        if (this.#hostRoutes.has(host) && !listed) list.splice(at, 0, host);
        else if (!this.#hostRoutes.has(host) && listed) list.splice(at, 1);
        groups.hosts.set(k, list);
        touched.add(k);
      }
      for (const k of touched) {
        const hosts = groups.hosts.get(k)!;
        if (hosts.length > 0) groups.tables.set(k, table(hosts));
        else {
          groups.hosts.delete(k);
          groups.tables.delete(k);
        }
      }
    }
    this.#regrouped.clear();
    return groups.tables;
  }

  /**
   * What the vhosts of {@linkcode RouteTable.vhosts} add up to (what they name, their size, their regular
   * expressions), kept from one update to the next: after a change only the hostnames it rebuilt are counted again.
   *
   * @param contribution What one hostname's vhost adds (computed once per vhost object, so that taking an old vhost's
   *   contribution out gives back what was put in).
   * @returns The totals; the table's own object, read it before the next update.
   */
  totals(contribution: (host: string, vhost: RoutingJson["vhosts"][string]) => VhostContribution): VhostTotals {
    let totals = this.#totals;
    if (totals === undefined) {
      totals = this.#totals = new VhostTotals();
      for (const host of this.#hosts) totals.add(contribution(host, this.#vhosts.get(host)!.vhost), 1);
    } else {
      for (const [host, old] of this.#retotal) {
        if (old !== undefined) totals.add(contribution(host, old.vhost), -1);
        if (this.#hostRoutes.has(host)) totals.add(contribution(host, this.#vhosts.get(host)!.vhost), 1);
      }
    }
    this.#retotal.clear();
    return totals;
  }

  /**
   * The routes attached to each listener (what `attachedRouteCounts` counts of {@linkcode RouteTable.attached}).
   *
   * @returns A new map, by listener name.
   */
  routeCounts(): Map<string, number> {
    return new Map(this.#counts);
  }

  /**
   * Our parent status entries of every route, in precedence order, each computed once per attachment.
   *
   * @param compute The entries of one attached route.
   * @returns A new array.
   */
  statuses(compute: (attached: AttachedRoute) => RouteStatusResult[]): RouteStatusResult[] {
    const flat = this.#flat;
    if (flat !== undefined) {
      for (const entry of this.#pending) {
        const status = entry.status ??= compute(entry.attached);
        const i = insertionPoint(this.#sorted, entry.identity) - 1;
        if (status.length !== 1 || this.#sorted[i] !== entry) {
          this.#flat = undefined;
          break;
        }
        flat[i] = status[0];
      }
      this.#pending.clear();
      if (this.#flat !== undefined) return flat.slice() as RouteStatusResult[];
    }
    const out: RouteStatusResult[] = [];
    let single = true;
    for (const entry of this.#sorted) {
      const status = entry.status ??= compute(entry.attached);
      single &&= status.length === 1;
      for (const one of status) out.push(one);
    }
    this.#flat = single ? out.slice() : undefined;
    return out;
  }
}

/**
 * The vhosts table of shard groups ({@linkcode RouteTable.shardGroups}) together: what {@linkcode RouteTable.vhosts}
 * gave when they were taken, whatever the table holds since.
 *
 * @param groups The groups.
 * @returns A new table, by hostname in sorted order.
 */
export function groupedVhosts(groups: ReadonlyMap<number, RoutingJson["vhosts"]>): RoutingJson["vhosts"] {
  const entries: (readonly [string, RoutingJson["vhosts"][string]])[] = [];
  for (const group of groups.values()) for (const entry of vhostEntries(group)) entries.push(entry);
  return vhostTable(entries.sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** The position of `host` in the sorted hostnames, or where it would go. */
function insertionPointOf(hosts: readonly string[], host: string): number {
  let [low, high] = [0, hosts.length];
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (hosts[mid] < host) low = mid + 1;
    else high = mid;
  }
  return low;
}
