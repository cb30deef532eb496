/**
 * Serializes routing.json to exactly the bytes `stringifyContract` writes, faster for large documents: the JSON of
 * each route entry (all but its listeners) is kept in the translation memo, keyed by the identity of the entry's
 * matches array, which translation builds once per rule and keeps while the route, its Services and grants are
 * unchanged; so regenerating after one route changed re-serializes only that route. An entry's `cache` (the name of
 * its CachePolicy) is appended once per entry and policy and kept by the memo too; the `cachePolicies` table is
 * small (one entry per policy) and written afresh, and so is `caBundles` (each CA bundle once, by hash). A vhost's text is joined from its entries' texts whenever it is
 * written, and not kept: the operator keeps each shard's text (`translate.ts`), and joining the entries of the one
 * shard that changed costs far less than keeping every route's text twice more. Only each vhost's size is kept, by
 * its object, which translation reuses while the hostname's entries are the same.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { type RoutingJson, vhostEntries } from "../ghost/contract/mod.ts";

type Route = RoutingJson["vhosts"][string]["routes"][number];

/** The JSON text of a route entry before and after its listeners. */
export interface RouteText {
  /** `{"id":…,"created":…,"listeners":` */
  head: string;
  /** `,"matches":…,"filters":…,"backends":…,"mirrors":…,"timeouts":…,"retry":…}` (the last three when the rule has them) */
  tail: string;
  /**
   * The tail with `,"cache":…` before the closing brace, by the cache's JSON (several when listeners differ); made for
   * the first entry with a cache only (a Map on every entry would cost more than its text).
   */
  cached?: Map<string, string>;
}

function parts(route: Route, memo: WeakMap<object, RouteText>): RouteText {
  let cached = memo.get(route.matches);
  if (cached === undefined) {
    cached = {
      head: `{"id":${JSON.stringify(route.id)},"created":${JSON.stringify(route.created)},"listeners":`,
      tail: `,"matches":${JSON.stringify(route.matches)},"filters":${JSON.stringify(route.filters)},"backends":${
        JSON.stringify(route.backends)
      }${route.mirrors ? `,"mirrors":${JSON.stringify(route.mirrors)}` : ""}${
        route.timeouts ? `,"timeouts":${JSON.stringify(route.timeouts)}` : ""
      }${route.retry ? `,"retry":${JSON.stringify(route.retry)}` : ""}}`,
    };
    memo.set(route.matches, cached);
  }
  return cached;
}

function cachedTail(text: RouteText, cache: NonNullable<Route["cache"]>): string {
  const json = JSON.stringify(cache);
  text.cached ??= new Map();
  let tail = text.cached.get(json);
  if (tail === undefined) text.cached.set(json, tail = `${text.tail.slice(0, -1)},"cache":${json}}`);
  return tail;
}

function vhostText(vhost: RoutingJson["vhosts"][string], memo: WeakMap<object, RouteText>): string {
  const out = ['{"routes":['];
  vhost.routes.forEach((r, i) => {
    const text = parts(r, memo);
    out.push(
      `${i === 0 ? "" : ","}${text.head}${JSON.stringify(r.listeners)}${
        r.cache ? cachedTail(text, r.cache) : text.tail
      }`,
    );
  });
  out.push("]}");
  return out.join("");
}

/**
 * Serializes a routing.json document: compact JSON with a trailing newline, key order as built.
 *
 * The document's keys must be in the order `version, listeners, cachePolicies, caBundles, vhosts, requests, cluster`, route entries' in the order
 * `id, created, listeners, matches, filters, backends, mirrors, timeouts, retry, cache`, and an entry's `matches` array must not be shared with
 * an entry whose id, created, filters or backends differ: translation creates a new matches array whenever it
 * rebuilds a rule entry. The golden tests check the result
 * against `stringifyContract`.
 *
 * @example Usage
 * ```ts
 * import { stringifyRouting } from "./routing_text.ts";
 * stringifyRouting({ version: 1, listeners: [], vhosts: {} }); // '{"version":1,"listeners":[],"vhosts":{}}\n'
 * ```
 *
 * @param doc The document.
 * @param memo Route entry texts by matches array (`TranslationMemo.routeText`). @default {a fresh map}
 * @returns The text.
 */
export function stringifyRouting(doc: RoutingJson, memo: WeakMap<object, RouteText> = new WeakMap()): string {
  return routingPieces(doc, memo).join("");
}

/**
 * The size in bytes (UTF-8) of {@linkcode stringifyRouting}'s text, without assembling it: each vhost's size is kept
 * by its object, so a large document whose text is stored in shards is never joined whole to be measured.
 *
 * @example Usage
 * ```ts
 * import { routingBytes } from "./routing_text.ts";
 * routingBytes({ version: 1, listeners: [], vhosts: {} }); // 41
 * ```
 *
 * @param doc The document.
 * @param memo As for {@linkcode stringifyRouting}. @default {a fresh map}
 * @param vhosts The number of its hostnames and the sum of their {@linkcode vhostBytes}, when the caller keeps them
 *   (its vhosts are then not read). @default {read from the document}
 * @returns The byte length of its text.
 */
export function routingBytes(
  doc: RoutingJson,
  memo: WeakMap<object, RouteText> = new WeakMap(),
  vhosts?: { hosts: number; bytes: number },
): number {
  let sum = vhosts;
  if (sum === undefined) {
    const hosts = vhostEntries(doc.vhosts);
    sum = { hosts: hosts.length, bytes: 0 };
    for (const [host, vhost] of hosts) sum.bytes += vhostBytes(host, vhost, memo);
  }
  // "{head}" + each `,"host":` and vhost text (the first without its comma); the pieces other than vhost texts are short
  const [head, tail] = [routingHead(doc), routingTail(doc)];
  return sum.bytes - (sum.hosts === 0 ? 0 : 1) + Buffer.byteLength(head, "utf8") + Buffer.byteLength(tail, "utf8");
}

/**
 * The UTF-8 size of a vhost's part of {@linkcode stringifyRouting}'s text: `,"host":` and the vhost's text; kept by
 * vhost object.
 *
 * @example Usage
 * ```ts
 * import { vhostBytes } from "./routing_text.ts";
 * vhostBytes("a.example", { routes: [] }); // 26
 * ```
 *
 * @param host The hostname.
 * @param vhost Its vhost.
 * @param memo As for {@linkcode stringifyRouting}. @default {a fresh map}
 * @returns The bytes.
 */
export function vhostBytes(
  host: string,
  vhost: RoutingJson["vhosts"][string],
  memo: WeakMap<object, RouteText> = new WeakMap(),
): number {
  let size = vhostSizes.get(vhost);
  if (size?.host !== host) {
    const text = Buffer.byteLength(vhostText(vhost, memo), "utf8");
    vhostSizes.set(vhost, size = { host, bytes: 1 + Buffer.byteLength(JSON.stringify(host), "utf8") + 1 + text });
  }
  return size.bytes;
}

/** The UTF-8 size of each vhost object's entry (`,"host":` and its text), with the hostname it was measured under. */
const vhostSizes = new WeakMap<object, { host: string; bytes: number }>();

function routingHead(doc: RoutingJson): string {
  const policies = doc.cachePolicies ? `,"cachePolicies":${JSON.stringify(doc.cachePolicies)}` : "";
  const bundles = doc.caBundles ? `,"caBundles":${JSON.stringify(doc.caBundles)}` : "";
  return `{"version":${doc.version},"listeners":${JSON.stringify(doc.listeners)}${policies}${bundles},"vhosts":{`;
}

function routingTail(doc: RoutingJson): string {
  return `${doc.requests ? `},"requests":${JSON.stringify(doc.requests)}` : "}"}${
    doc.cluster ? `,"cluster":${JSON.stringify(doc.cluster)}}\n` : "}\n"
  }`;
}

/** The text of a document in pieces: the head, then each hostname's key and vhost text, then the tail. */
function routingPieces(doc: RoutingJson, memo: WeakMap<object, RouteText>): string[] {
  const out: string[] = [routingHead(doc)];
  let firstHost = true;
  for (const [host, vhost] of vhostEntries(doc.vhosts)) {
    out.push(`${firstHost ? "" : ","}${JSON.stringify(host)}:`, vhostText(vhost, memo));
    firstHost = false;
  }
  out.push(routingTail(doc));
  return out;
}
