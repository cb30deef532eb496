/**
 * routing.json in shards: how a large Gateway's routing.json is stored, so that one route change writes one small
 * object instead of the whole document (operator → ConfigMaps → chaperone).
 *
 * A routing.json larger than {@linkcode SHARDING_THRESHOLD_BYTES} is split by hostname into shards: each shard is
 * itself a routing.json document (the same `version`, `listeners`, `cachePolicies` and `requests`) holding the
 * vhosts whose hostname hashes to it, stored in a ConfigMap of its own. The document's `caBundles` (BackendTLSPolicy
 * CA certificates, tens of kilobytes each) go to one more shard of their own, without vhosts, which the other shards'
 * backend groups name by key: so a bundle is stored once however many shards use it, and one route change still
 * rewrites only its own shard (a bundle's key is its content's hash, so a changed bundle is a new key: the shards
 * naming it and the bundles' shard are rewritten). The Gateway's ConfigMap then carries the
 * manifest, routing-shards.json, instead of routing.json: the name and content hash of every shard of the current
 * generation. Version 2 (written) names a shard by its number after one `prefix` (shard `k` is the ConfigMap
 * `<prefix><k>`) and by 128 bits of its text's SHA-256 in base64url, about 30 bytes a shard where version 1 (still
 * read, from an operator of before) spends about 100 on its ConfigMap name and whole `sha256:<hex>`: at 1,024 shards
 * every route change rewrites and every pod reads 32 KB instead of 110 KB. The short hash tells a shard of this
 * generation from one of another (a consistency check between generations written by the operator), not a security
 * boundary: whoever may write the shard ConfigMaps may write the manifest too. The routing configuration's hash is
 * the manifest's hash (it names every shard's hash), so a gateway pod that reports it serves exactly that generation.
 * A reader applies a manifest only once every shard it names is present with that hash, so it never applies half of a
 * generation, and a bundle a shard names is there when the
 * shard is applied. So a writer may write a generation's shards and its manifest at the same time (the operator does:
 * a route change then waits for one write, not two): a reader that sees the manifest first finds a shard missing or of
 * the last generation, applies nothing of the new one, keeps the last whole generation and reads again. A shard the
 * manifest no longer names is deleted only after the manifest is written, as readers of the last one may need it.
 *
 * @example Usage
 * ```ts
 * import { assembleRouting, parseRoutingJson, parseRoutingManifest, shardRouting } from "./mod.ts";
 * const doc = parseRoutingJson('{"version": 1, "vhosts": {"a.example": {"routes": []}}}');
 * const stored = shardRouting(doc, { bytes: 1 << 20, prefix: "gw-lacquer-r" })!;
 * const manifest = parseRoutingManifest(stored.manifest);
 * const texts = new Map(stored.shards.map((s) => [s.name, s.text]));
 * assembleRouting(manifest.shards.map((s) => parseRoutingJson(texts.get(s.name)!))); // the vhosts of doc
 * ```
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { z } from "zod";
import { contentHash } from "../../internal/content_hash.ts";
import { ContractError, parseContract, stringifyContract } from "./parse_contract.ts";
import { caBundleRefs, type RoutingJson } from "./routing_json.ts";

/** The version of routing-shards.json this code writes; it reads version 1 too. */
export const ROUTING_MANIFEST_VERSION = 2;

/** routing.json texts (UTF-8 bytes) above this size are stored in shards; smaller ones stay in one ConfigMap. */
export const SHARDING_THRESHOLD_BYTES = 256 * 1024;

/**
 * The size a shard aims at: small enough that one route change writes little and most shards are stored without
 * compression (`internal/routing_config_map.ts` compresses beyond 32 KiB, which costs the operator time on every
 * write), large enough that 50,000 routes make about a thousand objects.
 */
export const SHARD_TARGET_BYTES = 32 * 1024;

/** The most shards a Gateway's routing.json's vhosts are split into (its CA bundles may take one more). */
export const MAX_SHARDS = 4096;

/** routing-shards.json version 1: each shard's ConfigMap name and whole hash. */
const routingManifestV1Schema = z.strictObject({
  version: z.literal(1),
  shards: z.array(z.strictObject({
    /** The ConfigMap holding the shard, in the Gateway's namespace. */
    name: z.string().regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/),
    /** `sha256:<hex>` of the shard's routing.json text. */
    hash: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  })).min(1).max(MAX_SHARDS + 1),
});

/** A short shard hash: the first 128 bits of the SHA-256 of the shard's text, in base64url without padding. */
const SHORT_HASH = /^[A-Za-z0-9_-]{22}$/;

/** routing-shards.json version 2: the shards' ConfigMap name prefix, and each shard's number and short hash. */
const routingManifestV2Schema = z.strictObject({
  version: z.literal(2),
  /** Shard `k`'s ConfigMap, in the Gateway's namespace, is `<prefix><k>` (room left for four digits). */
  prefix: z.string().regex(/^[a-z0-9][-a-z0-9.]{0,248}$/),
  /** `[k, hash]` of each shard, by increasing `k`; `hash` is {@linkcode shortShardHash} of its text. */
  shards: z.array(z.tuple([z.int().min(0).max(MAX_SHARDS), z.string().regex(SHORT_HASH)])).min(1).max(
    MAX_SHARDS + 1,
  ),
});

/** The routing-shards.json schema, versions 1 and 2: the shards of one generation of routing.json. */
export const routingManifestSchema = z.discriminatedUnion("version", [
  routingManifestV1Schema,
  routingManifestV2Schema,
]);

/** A routing-shards.json document as written, of either version. */
export type RoutingManifestDocument = z.output<typeof routingManifestSchema>;

/** A parsed routing-shards.json, of either version: the shards it names, in its order. */
export interface RoutingManifest {
  /** The document's version. */
  version: 1 | 2;
  /** Each shard's ConfigMap name, and its hash as the manifest gives it (checked by {@linkcode shardHashMatches}). */
  shards: { name: string; hash: string }[];
}

/**
 * The hash version 2 of routing-shards.json names a shard by: the first 128 bits of its text's SHA-256, in
 * base64url. Long enough that two generations' shards do not collide by chance; not meant to resist a forger.
 *
 * @example Usage
 * ```ts
 * import { shortShardHash } from "./routing_shards.ts";
 * shortShardHash("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"); // "47DEQpj8HBSa-_TImW-5JA"
 * ```
 *
 * @param hash The text's `sha256:<hex>` (`contentHash`).
 * @returns The short hash, 22 characters.
 */
export function shortShardHash(hash: string): string {
  return Buffer.from(hash.slice(7, 39), "hex").toString("base64url");
}

/** The short hashes of the shards written lately, by whole hash; emptied when it holds this many. */
const SHORT_HASHES_KEPT = 4 * (MAX_SHARDS + 1);
const shortHashes = new Map<string, string>();

/**
 * {@linkcode shortShardHash}, remembered: the writer names every shard of a generation on each route change, about a
 * microsecond each (a millisecond at 1,024 shards), where all but a few have the hash they had (the operator hands
 * back the same strings, whose lookup is cheap).
 */
function rememberedShortHash(hash: string): string {
  let short = shortHashes.get(hash);
  if (short === undefined) {
    if (shortHashes.size >= SHORT_HASHES_KEPT) shortHashes.clear();
    shortHashes.set(hash, short = shortShardHash(hash));
  }
  return short;
}

/**
 * Whether a shard's text is the one a manifest names.
 *
 * @example Usage
 * ```ts
 * import { shardHashMatches } from "./routing_shards.ts";
 * shardHashMatches("47DEQpj8HBSa-_TImW-5JA", "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"); // true
 * ```
 *
 * @param named The shard's hash in the manifest ({@linkcode RoutingManifest}): `sha256:<hex>` (version 1) or short.
 * @param hash The `sha256:<hex>` of the text (`contentHash`).
 * @returns True when they match.
 */
export function shardHashMatches(named: string, hash: string): boolean {
  return named.startsWith("sha256:") ? named === hash : named === shortShardHash(hash);
}

/** One stored shard of a routing.json. */
export interface RoutingShard {
  /** Its ConfigMap's name. */
  name: string;
  /** Its routing.json text. */
  text: string;
  /** `sha256:<hex>` of the text. */
  hash: string;
}

/** A routing.json as stored in shards. */
export interface ShardedRouting {
  /** The routing-shards.json text. */
  manifest: string;
  /** The shards the manifest names, in its order. */
  shards: RoutingShard[];
}

type Vhosts = RoutingJson["vhosts"];

/** The entries of each vhosts table built by {@linkcode vhostTable}, in its order. */
const tableEntries = new WeakMap<Vhosts, readonly (readonly [string, Vhosts[string]])[]>();

/** A key an object orders before the others (an array index): `Object.entries` would not keep insertion order. */
const ARRAY_INDEX = /^(0|[1-9][0-9]*)$/;

/**
 * Builds a vhosts table from its entries in order and remembers them, so that {@linkcode vhostEntries} hands them
 * back without iterating the table: iterating an object of thousands of hostnames (kept as a dictionary) sorts its
 * keys each time, and routing.json's writer, its sizes and its shards each iterate it on every change.
 *
 * @example Usage
 * ```ts
 * import { vhostEntries, vhostTable } from "./routing_shards.ts";
 * const entries: [string, { routes: [] }][] = [["a.example", { routes: [] }]];
 * vhostEntries(vhostTable(entries)) === entries; // true
 * ```
 *
 * @param entries The hostnames and their vhosts, in the table's order (the table must not be changed afterwards).
 * @returns The table.
 */
export function vhostTable(entries: readonly (readonly [string, Vhosts[string]])[]): Vhosts {
  const table: Vhosts = {};
  let ordered = true;
  for (const [host, vhost] of entries) {
    table[host] = vhost;
    if (ARRAY_INDEX.test(host)) ordered = false;
  }
  if (ordered) tableEntries.set(table, entries);
  return table;
}

/**
 * The entries of a vhosts table, as `Object.entries` gives them: those {@linkcode vhostTable} remembered, or the
 * table's own.
 *
 * @param vhosts The table.
 * @returns Its hostnames and vhosts, in order.
 */
export function vhostEntries(vhosts: Vhosts): readonly (readonly [string, Vhosts[string]])[] {
  return tableEntries.get(vhosts) ?? Object.entries(vhosts);
}

/** FNV-1a (32 bits) of a hostname: spreads hostnames over shards, the same way in every run. */
function hostHash(host: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < host.length; i++) h = Math.imul(h ^ host.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * The shard a hostname's vhost goes to among `count` shards (what {@linkcode shardRouting} groups by).
 *
 * @example Usage
 * ```ts
 * import { shardOfHost } from "./routing_shards.ts";
 * shardOfHost("a.example", 1); // 0
 * ```
 *
 * @param host The hostname.
 * @param count The number of shards ({@linkcode shardCount}).
 * @returns Its shard's number, below `count`.
 */
export function shardOfHost(host: string, count: number): number {
  return hostHash(host) % count;
}

/**
 * The number of shards for a routing.json of `bytes` bytes: a power of two, so it changes (and every shard is
 * rewritten) only when the size doubles or halves.
 *
 * @example Usage
 * ```ts
 * import { shardCount } from "./routing_shards.ts";
 * shardCount(2_400_000); // 128
 * ```
 *
 * @param bytes The routing.json text's size in bytes.
 * @returns The number of shards, at least 1.
 */
export function shardCount(bytes: number): number {
  let count = 1;
  while (count < MAX_SHARDS && bytes / count > SHARD_TARGET_BYTES) count *= 2;
  return count;
}

/**
 * A routing.json document's fields in their order, with an empty vhosts table in its place: its own vhosts are not
 * read (a document may build them only when read).
 *
 * @example Usage
 * ```ts
 * import { parseRoutingJson, withoutVhosts } from "./mod.ts";
 * withoutVhosts(parseRoutingJson('{"version": 1, "vhosts": {"a.example": {"routes": []}}}')); // { version: 1, vhosts: {} }
 * ```
 *
 * @param doc The document.
 * @param caBundles Whether its `caBundles` stay. @default {true}
 * @returns A new document without vhosts.
 */
export function withoutVhosts(doc: RoutingJson, caBundles = true): RoutingJson {
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(doc)) {
    if (key === "vhosts") fields.vhosts = {};
    else if (key !== "caBundles" || caBundles) fields[key] = doc[key as keyof RoutingJson];
  }
  return fields as unknown as RoutingJson;
}

/**
 * Splits a routing.json document into shards by hostname, or returns undefined when it is small enough to be
 * stored whole. Empty shards are left out; each shard keeps the vhosts in the document's order. The document's
 * `caBundles` go to a last shard of their own (named as shard `count`, one past the hostnames' shards), and do not count
 * towards the number of the hostnames' shards.
 *
 * @param doc The routing.json document.
 * @param options `bytes`: the size of its text; `prefix`: shard `k`'s ConfigMap is `<prefix><k>`; `stringify`: the
 *   serializer of a shard's document, given its name (the operator's memoised one; the contract's by default); `hash`:
 *   the content hash of a shard's text, given its name and document (the operator's remembers the last texts;
 *   `contentHash` by default); `groups`: the vhosts of each non-empty shard for a shard count, exactly as grouping
 *   the document's vhosts by {@linkcode shardOfHost} in their order gives them (the operator keeps them from one change
 *   to the next; grouped here by default).
 * @returns The manifest and the shards, or undefined below {@linkcode SHARDING_THRESHOLD_BYTES}.
 */
export function shardRouting(
  doc: RoutingJson,
  options: {
    bytes: number;
    prefix: string;
    stringify?: (doc: RoutingJson, name: string) => string;
    hash?: (name: string, text: string, doc: RoutingJson) => string;
    groups?: (count: number) => ReadonlyMap<number, RoutingJson["vhosts"]>;
  },
): ShardedRouting | undefined {
  if (options.bytes <= SHARDING_THRESHOLD_BYTES) return undefined;
  const caBundles = doc.caBundles;
  // its vhosts are not read here when the groups are given (the operator's are built only when read)
  const rest = withoutVhosts(doc, false);
  // The hostnames' shards are counted without the bundles, which have a shard of their own: a CA bundle that changes
  // or comes does not move hostnames to other shards (and so rewrite them all).
  const bundleBytes = caBundles === undefined ? 0 : new TextEncoder().encode(JSON.stringify(caBundles)).length;
  const count = shardCount(options.bytes - bundleBytes);
  let groups = options.groups?.(count);
  if (groups === undefined) {
    const grouped = new Map<number, RoutingJson["vhosts"]>();
    for (const [host, vhost] of vhostEntries(doc.vhosts)) {
      const k = shardOfHost(host, count);
      let group = grouped.get(k);
      if (group === undefined) grouped.set(k, group = {});
      group[host] = vhost;
    }
    groups = grouped;
  }
  const stringify = options.stringify ?? stringifyContract;
  const hash = options.hash ?? ((_: string, text: string) => contentHash(text));
  const shard = (k: number, shardDoc: RoutingJson) => {
    const name = `${options.prefix}${k}`;
    const text = stringify(shardDoc, name);
    return { k, name, text, hash: hash(name, text, shardDoc) };
  };
  const shards = [...groups.keys()].sort((a, b) => a - b).map((k) => shard(k, { ...rest, vhosts: groups.get(k)! }));
  // An empty document still needs one shard: the manifest names at least one.
  if (shards.length === 0) shards.push(shard(0, { ...rest, vhosts: {} }));
  if (caBundles !== undefined) shards.push(shard(count, withoutVhosts(doc)));
  const manifest: RoutingManifestDocument = {
    version: ROUTING_MANIFEST_VERSION,
    prefix: options.prefix,
    shards: shards.map(({ k, hash }) => [k, rememberedShortHash(hash)]),
  };
  return {
    manifest: JSON.stringify(manifest) + "\n",
    shards: shards.map(({ name, text, hash }) => ({ name, text, hash })),
  };
}

/**
 * Parses a routing-shards.json document of either version.
 *
 * @param text The JSON text.
 * @returns The shards it names, each with its ConfigMap name.
 * @throws {ContractError} When the document is invalid (version 2: also when its shard numbers do not increase);
 *   the message names the JSON path.
 */
export function parseRoutingManifest(text: string): RoutingManifest {
  const doc = parseContract(routingManifestSchema, text, { document: "routing-shards.json" });
  if (doc.version === 1) return doc;
  const shards = doc.shards.map(([k, hash], i) => {
    if (i > 0 && k <= doc.shards[i - 1][0]) {
      throw new ContractError("routing-shards.json", [{
        path: `$.shards[${i}][0]`,
        message: `shard numbers must increase: ${k} follows ${doc.shards[i - 1][0]}`,
      }]);
    }
    return { name: `${doc.prefix}${k}`, hash };
  });
  return { version: 2, shards };
}

/** The document-wide parts of each parsed shard, as text to compare: computed once per shard. */
const heads = new WeakMap<RoutingJson, string>();

/**
 * The document-wide parts every shard repeats (everything but its vhosts and CA bundles), as text to compare.
 *
 * @param doc A parsed shard.
 * @returns The text, the same for shards of one generation.
 */
export function shardHead(doc: RoutingJson): string {
  let head = heads.get(doc);
  if (head === undefined) heads.set(doc, head = JSON.stringify({ ...doc, vhosts: undefined, caBundles: undefined }));
  return head;
}

/**
 * The CA bundles of a generation's shards together, checked: a key in two shards must hold the same bundle.
 *
 * @param shards The shards, parsed, in the manifest's order.
 * @returns The bundles by key; empty when no shard holds one.
 * @throws {ContractError} When two shards hold different bundles under one key.
 */
export function shardCaBundles(shards: readonly RoutingJson[]): Map<string, string> {
  const bundles = new Map<string, string>();
  shards.forEach((shard, i) => {
    for (const [key, pem] of Object.entries(shard.caBundles ?? {})) {
      if (bundles.has(key) && bundles.get(key) !== pem) throw shardConflict(i, undefined, key);
      bundles.set(key, pem);
    }
  });
  return bundles;
}

/**
 * Checks that every CA bundle some shards' backend groups name is in the generation's bundles.
 *
 * @param shards The shards to check (those of a generation, or only those new to it).
 * @param bundles The generation's bundles ({@linkcode shardCaBundles}).
 * @param position The position in the manifest of each shard checked, for the error's path.
 * @throws {ContractError} Naming the first backend group whose bundle is missing.
 */
export function checkCaBundleRefs(
  shards: readonly RoutingJson[],
  bundles: ReadonlyMap<string, string>,
  position: (shard: number) => number = (i) => i,
): void {
  shards.forEach((shard, i) => {
    const missing = caBundleRefs(shard).find((ref) => !bundles.has(ref.key));
    if (missing === undefined) return;
    throw new ContractError("routing-shards.json", [{
      path: `$.shards[${position(i)}]`,
      message: `its vhost ${JSON.stringify(missing.path[1])} names the CA bundle "${missing.key}", which no shard ` +
        "of the generation holds",
    }]);
  });
}

/**
 * The error of a generation whose shard `index` does not belong with the others.
 *
 * @param index The shard's position in the manifest.
 * @param host The hostname it holds that another shard holds too; absent: its document-wide fields differ.
 * @param caBundle The key of a CA bundle it holds with another content than another shard.
 * @returns The error.
 */
export function shardConflict(index: number, host?: string, caBundle?: string): ContractError {
  return new ContractError("routing-shards.json", [{
    path: `$.shards[${index}]`,
    message: caBundle !== undefined
      ? `the CA bundle "${caBundle}" differs from another shard's`
      : host === undefined
      ? "the shard's version, listeners, cachePolicies or requests differ from the first shard's"
      : `the hostname ${JSON.stringify(host)} is in two shards`,
  }]);
}

/**
 * Joins the parsed shards of one generation back into one routing.json document. Every shard must carry the same
 * document-wide fields, no hostname may be in two shards, and every CA bundle a backend group names must be in one.
 *
 * @param shards The shards, parsed, in the manifest's order.
 * @returns The whole document.
 * @throws {ContractError} When the shards do not belong together.
 */
export function assembleRouting(shards: readonly RoutingJson[]): RoutingJson {
  const first = shardHead(shards[0]);
  const vhosts: RoutingJson["vhosts"] = {};
  shards.forEach((shard, i) => {
    if (i > 0 && shardHead(shard) !== first) throw shardConflict(i);
    for (const [host, vhost] of Object.entries(shard.vhosts)) {
      if (Object.hasOwn(vhosts, host)) throw shardConflict(i, host);
      vhosts[host] = vhost;
    }
  });
  const bundles = shardCaBundles(shards);
  checkCaBundleRefs(shards, bundles);
  // The first shard's fields in their order, the bundles just before the vhosts (where the whole document has them).
  const doc: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(shards[0])) {
    if (key === "caBundles") continue;
    if (key === "vhosts" && bundles.size > 0) doc.caBundles = Object.fromEntries([...bundles].sort(byKey));
    doc[key] = key === "vhosts" ? vhosts : value;
  }
  return doc as RoutingJson;
}

function byKey([a]: [string, unknown], [b]: [string, unknown]): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
