/**
 * Keeps ghost.json built and rebuilds it after each change at the cost of that change: each vhost's ghost.json value is
 * kept as JSON text with what it was built from (its routing.json object, and the Service ports it names), and each
 * Service port's `backends` entry (version 2) as JSON text, so a change merges only the vhosts that differ in the
 * routing.json shards it rewrote (the others of those shards, or of a whole document, are compared with what they were
 * built from, which costs a fraction of a merge), and an endpoint change rewrites only the entry of each Service port
 * it touched (and the vhosts mirroring to it, since mirrors hold their endpoints inline). It says which vhosts and
 * entries changed, by key: a `backends` key holds a `/`, which no vhost key does. The sync loop makes ghost's delta of
 * them ({@linkcode ghostDelta}); the whole document, byte for byte
 * `stringifyContract(mergeEndpoints(routing, cluster))`, is joined only when it is written whole
 * ({@linkcode GhostJsonBuilder.text}).
 *
 * @module
 */
import type { GhostBackend, GhostClientCertificate, RoutingBackend, RoutingJson } from "../ghost/contract/mod.ts";
import { shardCaBundles } from "../ghost/contract/mod.ts";
import {
  backendEntry,
  type EndpointsIndex,
  ghostDocument,
  inlineCaBundle,
  keyedGroup,
  mergeVhost,
  type PeerIdentity,
  peerSection,
  portKey,
  resolveServicePort,
  type ServiceEndpoints,
  serviceKey,
  withGroup,
} from "./merge_endpoints.ts";
import { countGhost } from "./metrics.ts";
import { sameJson } from "./same_json.ts";

type RoutingVhost = RoutingJson["vhosts"][string];

/** The counts of a ghost.json the metrics show. */
export type GhostCounts = ReturnType<typeof countGhost>;

/** What ghost.json is built from. */
export interface GhostBuildInput {
  /**
   * routing.json's parsed shards (the whole document as one shard when it is stored whole): a shard that is the same
   * object as in the last build is taken as unchanged.
   */
  shards: readonly RoutingJson[];
  /** The Services and EndpointSlices by Service. */
  endpoints: EndpointsIndex;
  /**
   * The Services (`namespace/name`) whose entry may have changed since the last build; absent: every Service in use
   * is compared with the entry it was resolved against, by identity.
   */
  changedServices?: Iterable<string>;
  /** The Gateway's backend client certificate, presented to TLS backends. */
  clientCertificate?: GhostClientCertificate;
  /** This pod's identity, for the clustered cache. */
  self?: PeerIdentity;
}

/** The text of ghost.json around its vhosts (every document-wide field), before and after the vhosts' object. */
export interface GhostFrame {
  /** Up to `"vhosts":`. */
  head: string;
  /** After the vhosts' object, up to the closing brace. */
  tail: string;
}

/**
 * The values a delta changes, by key: vhosts, and `backends` entries (whose keys hold a `/`); the new value's text,
 * or undefined for a key gone.
 */
export type VhostValues = ReadonlyMap<string, string | undefined>;

/**
 * Whether a key of {@linkcode VhostValues} is a `backends` key (else a vhost key).
 *
 * @param key The key.
 * @returns True for a `backends` key.
 */
export function isBackendKey(key: string): boolean {
  return key.includes("/");
}

/**
 * The text of ghost's delta document (`ghost/contract/ghost_delta.ts`, version 2): the vhosts and `backends` entries
 * given, `null` for those gone.
 *
 * @example Usage
 * ```ts
 * import { ghostDelta } from "./ghost_json_builder.ts";
 * ghostDelta(new Map([["a", '{"routes":[]}'], ["b", undefined], ["ns/s:80", '{"endpoints":[]}']]));
 * // '{"version":2,"vhosts":{"a":{"routes":[]},"b":null},"backends":{"ns/s:80":{"endpoints":[]}}}'
 * ```
 *
 * @param values The changed vhosts' and entries' values.
 * @returns The delta's text.
 */
export function ghostDelta(values: VhostValues): string {
  const [vhosts, backends]: string[][] = [[], []];
  for (const [key, value] of values) {
    (isBackendKey(key) ? backends : vhosts).push(`${JSON.stringify(key)}:${value ?? "null"}`);
  }
  const table = backends.length > 0 ? `,"backends":{${backends.join(",")}}` : "";
  return `{"version":2,"vhosts":{${vhosts.join(",")}}${table}}`;
}

interface HostEntry {
  /** Its routing.json object, and the shard holding it (replaced by an equal one when its shard is rewritten). */
  vhost: RoutingVhost;
  shard: RoutingJson;
  /** The Service ports it names ({@linkcode portKey}). */
  ports: readonly string[];
  /** The groups naming each `backends` key. */
  groups: ReadonlyMap<string, number>;
  /** The Service ports its mirrors hold inline. */
  mirrored: ReadonlySet<string>;
  /** Its ghost.json value as JSON text. */
  value: string;
  /** Its counts, the endpoints of the `backends` entries its groups name apart. */
  counts: GhostCounts;
}

interface PortEntry {
  /** A backend group naming the port, to resolve it again. */
  backend: RoutingBackend;
  resolved: GhostBackend;
  json: string;
  /** Its `backends` entry as JSON text. */
  entry: string;
  /** The hosts whose vhost names it. */
  users: Set<string>;
  /** The hosts whose mirrors hold it inline. */
  mirrors: Set<string>;
  /** The groups, over every vhost, naming its `backends` key; the table lists it while there are any. */
  groups: number;
}

function backendsOf(vhost: RoutingVhost): RoutingBackend[] {
  return vhost.routes.flatMap((r) => [...r.backends, ...(r.mirrors ?? []).map((m) => m.backend)]);
}

/** How a frame's head ends. */
const VHOSTS_FIELD = '"vhosts":';

const ZERO: GhostCounts = { backends: 0, backendsEmpty: 0, endpoints: 0, routes: 0 };

function addCounts(total: GhostCounts, counts: GhostCounts, sign: 1 | -1): GhostCounts {
  return {
    backends: total.backends + sign * counts.backends,
    backendsEmpty: total.backendsEmpty + sign * counts.backendsEmpty,
    endpoints: total.endpoints + sign * counts.endpoints,
    routes: total.routes + sign * counts.routes,
  };
}

/**
 * Whether two frames are the same text.
 *
 * @param a A frame.
 * @param b Another.
 * @returns True when a delta can lead from a document of one to a document of the other.
 */
export function sameFrame(a: GhostFrame, b: GhostFrame): boolean {
  return a.head === b.head && a.tail === b.tail;
}

/** The document's own fields around the vhosts, in the order ghostDocument gives them. */
function frameOf(input: GhostBuildInput): GhostFrame {
  const routing = input.shards[0];
  const ghost = ghostDocument(routing, {}, peerSection(routing, input.endpoints, input.self));
  const head = JSON.stringify({ ...ghost, vhosts: {}, requests: undefined, cluster: undefined }).slice(
    0,
    -"{}}".length,
  );
  const tail = `${ghost.requests ? `,"requests":${JSON.stringify(ghost.requests)}` : ""}${
    ghost.cluster ? `,"cluster":${JSON.stringify(ghost.cluster)}` : ""
  }}`;
  return { head, tail };
}

/**
 * Builds ghost.json incrementally; one instance per chaperone.
 *
 * @example Usage
 * ```ts
 * import { GhostJsonBuilder } from "./ghost_json_builder.ts";
 * import { parseRoutingJson } from "../ghost/contract/mod.ts";
 * const builder = new GhostJsonBuilder();
 * builder.update({ shards: [parseRoutingJson('{"version": 1, "vhosts": {}}')], endpoints: new Map() });
 * builder.text(); // '{"version":1,"listeners":[],"vhosts":{}}\n'
 * ```
 */
export class GhostJsonBuilder {
  #shards: readonly RoutingJson[] = [];
  #hosts = new Map<string, HostEntry>();
  #ports = new Map<string, PortEntry>();
  /** The ports in use of each Service, and the entry they were resolved against. */
  #services = new Map<string, { entry: ServiceEndpoints | undefined; ports: Set<string> }>();
  #certificate: string | undefined;
  /** The CA bundles of the current shards (one of them holds them), by key. */
  #caBundles: ReadonlyMap<string, string> = new Map();
  #frame: GhostFrame = { head: "", tail: "" };
  /** The counts of the vhosts, the `backends` entries' endpoints apart. */
  #counts: GhostCounts = ZERO;
  /** The `backends` keys this update touched, with their value before it. */
  #touched = new Map<string, string | undefined>();
  #merged = 0;

  /**
   * Takes the current state and rebuilds what it changes.
   *
   * @param input routing.json's shards, the endpoints, the client certificate and the pod's identity.
   * @returns The vhosts and `backends` entries whose value changed, each with its value before (undefined: it was
   *   absent).
   */
  update(input: GhostBuildInput): Map<string, string | undefined> {
    const { shards, endpoints } = input;
    const dirty = new Set<string>();
    this.#touched = new Map();
    this.#merged = 0;
    // routing: the vhosts of the shards new to this build, and those of the shards gone from it
    const [before, now] = [new Set(this.#shards), new Set(shards)];
    const incoming = new Map<string, [RoutingVhost, RoutingJson]>();
    for (const shard of shards) {
      if (before.has(shard)) continue;
      for (const [host, vhost] of Object.entries(shard.vhosts)) {
        incoming.set(host, [vhost, shard]);
        dirty.add(host);
      }
    }
    for (const shard of this.#shards) {
      if (!now.has(shard)) { for (const host of Object.keys(shard.vhosts)) dirty.add(host); }
    }
    /** The hosts whose mirrors hold endpoints that changed. */
    const mirroring = new Set<string>();
    // endpoints: the Service ports whose resolution changed (every one when the client certificate did)
    const certificate = JSON.stringify(input.clientCertificate ?? null);
    const everyPort = certificate !== this.#certificate;
    this.#certificate = certificate;
    const services = everyPort || input.changedServices === undefined ? this.#services.keys() : input.changedServices;
    for (const service of services) {
      const used = this.#services.get(service);
      const entry = endpoints.get(service);
      if (used === undefined || (entry === used.entry && !everyPort)) continue;
      used.entry = entry;
      for (const key of used.ports) {
        const port = this.#ports.get(key)!;
        const resolved = resolveServicePort(port.backend, entry, input.clientCertificate);
        const json = JSON.stringify(resolved);
        if (json === port.json) continue;
        this.#touch(key);
        Object.assign(port, { resolved, json, entry: JSON.stringify(backendEntry(resolved)) });
        // the groups name the entry; only mirrors hold the endpoints inline
        for (const host of port.mirrors) {
          dirty.add(host);
          mirroring.add(host);
        }
      }
    }
    this.#shards = shards;
    // A bundle's key is its content's hash: the groups naming a changed bundle name a new key, so their vhosts are
    // rebuilt with their shards, and a resolved port (keyed with its tls) never outlives its bundle.
    const bundles = shardCaBundles(shards);
    const sameBundles = bundles.size === this.#caBundles.size &&
      [...bundles].every(([key, pem]) => this.#caBundles.get(key) === pem);
    this.#caBundles = bundles;
    const changed = new Map<string, string | undefined>();
    for (const host of dirty) {
      const old = this.#hosts.get(host);
      const came = incoming.get(host);
      // A rewritten shard holds mostly the vhosts it held: one the same as before (its endpoints too) keeps its value.
      if (came && old && sameBundles && !mirroring.has(host) && sameJson(came[0], old.vhost)) {
        [old.vhost, old.shard] = came;
        continue;
      }
      const next = came ?? (old && now.has(old.shard) ? [old.vhost, old.shard] as const : undefined);
      const value = next === undefined ? this.#remove(host) : this.#merge(host, next[0], next[1], input);
      if (value !== old?.value) changed.set(host, old?.value);
    }
    for (const [key, before] of this.#touched) if (this.value(key) !== before) changed.set(key, before);
    this.#frame = frameOf(input);
    return changed;
  }

  /** Keeps the value of a `backends` key from before this update, once. */
  #touch(key: string): void {
    if (!this.#touched.has(key)) this.#touched.set(key, this.value(key));
  }

  /** Adds `n` (negative: removes) groups naming a `backends` key. */
  #countGroups(key: string, n: number): void {
    this.#touch(key);
    this.#ports.get(key)!.groups += n;
  }

  /** How many vhosts the last update merged (the others it took as they were). */
  get merged(): number {
    return this.#merged;
  }

  /** Merges one vhost and keeps it; returns its value. */
  #merge(host: string, vhost: RoutingVhost, shard: RoutingJson, input: GhostBuildInput): string {
    this.#merged++;
    const old = this.#hosts.get(host);
    const named = new Map<string, RoutingBackend>();
    for (const backend of backendsOf(vhost)) {
      const key = portKey(backend);
      if (key === undefined || named.has(key)) continue;
      const inlined = inlineCaBundle(backend, this.#caBundles);
      // without its CA bundle (which the contract checks rule out) it answers 500, resolved on its own below
      if (inlined.service !== undefined) named.set(key, inlined);
    }
    const ports = [...named.keys()];
    for (const [key, backend] of named) this.#use(key, backend, input);
    const groups = new Map<string, number>();
    const mirrored = new Set<string>();
    // groups name their Service port's `backends` entry, mirrors hold its endpoints inline
    const resolver = (keyed: boolean) => (backend: RoutingBackend) => {
      const key = portKey(backend);
      const port = key !== undefined && named.has(key) ? this.#ports.get(key) : undefined;
      if (port === undefined) {
        return withGroup(resolveServicePort(inlineCaBundle(backend, this.#caBundles), undefined, undefined), backend);
      }
      if (!keyed) {
        mirrored.add(key!);
        return withGroup(port.resolved, backend);
      }
      groups.set(key!, (groups.get(key!) ?? 0) + 1);
      return keyedGroup(port.resolved, backend, key!);
    };
    const merged = mergeVhost(vhost, resolver(true), resolver(false));
    for (const key of ports) this.#ports.get(key)!.users.add(host);
    for (const [key, n] of old?.groups ?? []) this.#countGroups(key, -n);
    for (const [key, n] of groups) this.#countGroups(key, n);
    for (const key of old?.mirrored ?? []) this.#ports.get(key)!.mirrors.delete(host);
    for (const key of mirrored) this.#ports.get(key)!.mirrors.add(host);
    if (old) this.#release(host, old.ports.filter((k) => !ports.includes(k)));
    const value = JSON.stringify(merged);
    const counts = countGhost({ vhosts: { [host]: merged } });
    this.#counts = addCounts(old ? addCounts(this.#counts, old.counts, -1) : this.#counts, counts, 1);
    this.#hosts.set(host, { vhost, shard, ports, groups, mirrored, value, counts });
    return value;
  }

  /** Makes sure a Service port is resolved (against the current entry of its Service). */
  #use(key: string, backend: RoutingBackend, input: GhostBuildInput): void {
    if (this.#ports.has(key)) return;
    const service = serviceKey(backend);
    let used = this.#services.get(service);
    if (used === undefined) {
      this.#services.set(service, used = { entry: input.endpoints.get(service), ports: new Set() });
    }
    used.ports.add(key);
    const resolved = resolveServicePort(backend, used.entry, input.clientCertificate);
    const [json, entry] = [JSON.stringify(resolved), JSON.stringify(backendEntry(resolved))];
    this.#ports.set(key, { backend, resolved, json, entry, users: new Set(), mirrors: new Set(), groups: 0 });
  }

  /** Forgets a vhost; returns undefined (its value now). */
  #remove(host: string): undefined {
    const old = this.#hosts.get(host);
    if (old === undefined) return undefined;
    for (const [key, n] of old.groups) this.#countGroups(key, -n);
    for (const key of old.mirrored) this.#ports.get(key)!.mirrors.delete(host);
    this.#release(host, old.ports);
    this.#counts = addCounts(this.#counts, old.counts, -1);
    this.#hosts.delete(host);
    return undefined;
  }

  /** Drops a host from the users of ports, and the ports no vhost names any more. */
  #release(host: string, keys: readonly string[]): void {
    for (const key of keys) {
      const port = this.#ports.get(key)!;
      port.users.delete(host);
      if (port.users.size > 0) continue;
      this.#ports.delete(key);
      const service = serviceKey(port.backend);
      const used = this.#services.get(service)!;
      used.ports.delete(key);
      if (used.ports.size === 0) this.#services.delete(service);
    }
  }

  /** The text around the vhosts: a delta applies only between documents with the same. */
  get frame(): GhostFrame {
    return this.#frame;
  }

  /** The counts of the built document. */
  get counts(): GhostCounts {
    let counts = this.#counts;
    for (const port of this.#ports.values()) {
      if (port.groups === 0) continue;
      const [groups, endpoints] = [port.groups, port.resolved.endpoints.length];
      const empty = endpoints === 0 ? groups : 0;
      counts = addCounts(
        counts,
        { backends: groups, backendsEmpty: empty, endpoints: endpoints * groups, routes: 0 },
        1,
      );
    }
    return counts;
  }

  /**
   * A vhost's or a `backends` entry's value in the built document.
   *
   * @param key The vhost key, or the `backends` key ({@linkcode isBackendKey}).
   * @returns Its JSON text, or undefined when the document has no such vhost or entry.
   */
  value(key: string): string | undefined {
    if (!isBackendKey(key)) return this.#hosts.get(key)?.value;
    const port = this.#ports.get(key);
    return port !== undefined && port.groups > 0 ? port.entry : undefined;
  }

  /**
   * Joins the whole document: the built one, or with `values` instead of the built ones for some vhosts (the
   * document a delta log leads back to) and another frame.
   *
   * @param values Vhost values to use instead of the built ones (undefined: the vhost is absent).
   * @param frame The frame those values go with (the built one by default).
   * @returns The ghost.json text.
   */
  text(values?: VhostValues, frame: GhostFrame = this.#frame): string {
    return [...this.textPieces(values, frame)].join("");
  }

  /**
   * The document {@linkcode GhostJsonBuilder.text} joins, in pieces of `perPiece` vhosts: what it holds is taken at the
   * call (later updates do not change it), each piece is joined when it is asked for, so that writing a document of
   * tens of thousands of vhosts piece by piece never holds the event loop for the whole join.
   *
   * @param values Vhost values to use instead of the built ones (undefined: the vhost is absent).
   * @param frame The frame those values go with (the built one by default).
   * @param perPiece Vhosts per piece. @default {2000}
   * @returns The pieces, in order.
   */
  textPieces(values?: VhostValues, frame: GhostFrame = this.#frame, perPiece = 2000): Iterable<string> {
    // the vhosts and their values now, their members' text later
    const [hosts, texts]: string[][] = [[], []];
    const member = (host: string, value: string | undefined) => {
      if (value === undefined) return;
      hosts.push(host);
      texts.push(value);
    };
    for (const shard of this.#shards) {
      for (const host of Object.keys(shard.vhosts)) {
        member(host, values?.has(host) ? values.get(host) : this.#hosts.get(host)!.value);
      }
    }
    for (const [host, value] of values ?? []) if (!isBackendKey(host) && !this.#hosts.has(host)) member(host, value);
    const entries = new Map<string, string>();
    for (const [key, port] of this.#ports) if (port.groups > 0) entries.set(key, port.entry);
    for (const [key, value] of values ?? []) {
      if (!isBackendKey(key)) continue;
      if (value === undefined) entries.delete(key);
      else entries.set(key, value);
    }
    // in key order, as mergeEndpoints writes them
    const table = [...entries.keys()].sort().map((key) => `${JSON.stringify(key)}:${entries.get(key)}`);
    // the frame's head ends with `"vhosts":`; the table goes before it, as the contract orders the fields
    const head = table.length > 0
      ? `${frame.head.slice(0, -VHOSTS_FIELD.length)}"backends":{${table.join(",")}},${VHOSTS_FIELD}`
      : frame.head;
    return (function* () {
      yield `${head}{`;
      for (let i = 0; i < hosts.length; i += perPiece) {
        const members: string[] = [];
        for (let j = i; j < Math.min(i + perPiece, hosts.length); j++) {
          members.push(`${JSON.stringify(hosts[j])}:${texts[j]}`);
        }
        yield `${i > 0 ? "," : ""}${members.join(",")}`;
      }
      yield `}${frame.tail}\n`;
    })();
  }
}
