/**
 * Builds ghost.json again after each change at the cost of what changed: a vhost whose routing.json object is the
 * same as last time (a routing.json read in shards keeps the parsed vhosts of unchanged shards) and whose Services
 * resolve to the same endpoints keeps its merged object and its JSON text; only the others are merged and
 * serialized. The result is byte for byte `stringifyContract(mergeEndpoints(routing, cluster))`. It comes with each
 * vhost's own JSON text and the document's text around the vhosts, so that the sync loop can hand ghost only the
 * vhosts that differ from the document it serves ({@linkcode ghostDelta}).
 *
 * @module
 */
import type { GhostJson, RoutingBackend, RoutingJson } from "../ghost/contract/mod.ts";
import {
  backendResolver,
  type ClusterEndpoints,
  ghostDocument,
  mergeVhost,
  type PeerIdentity,
  peerSection,
} from "./merge_endpoints.ts";

type RoutingVhost = RoutingJson["vhosts"][string];
type GhostVhost = GhostJson["vhosts"][string];

/** A built ghost.json: the document, its text, and its parts for deltas. */
export interface BuiltGhostJson {
  /** The document. */
  ghost: GhostJson;
  /** Its text. */
  text: string;
  /** The text around the vhosts (every document-wide field): a delta applies only between documents with the same. */
  frame: string;
  /** Each vhost's JSON text, by key. */
  vhosts: ReadonlyMap<string, string>;
}

/**
 * The text of ghost's delta document (`ghost/README.md`) that turns the document of `served` into the one of `next`:
 * the vhosts whose text differs, and `null` for the keys gone. Undefined when a document-wide field differs or
 * nothing does.
 *
 * @example Usage
 * ```ts
 * import { ghostDelta } from "./ghost_json_builder.ts";
 * const served = { frame: "f", vhosts: new Map([["a", "{}"], ["b", "{}"]]) };
 * ghostDelta(served, { frame: "f", vhosts: new Map([["a", '{"routes":[]}']]) });
 * // '{"version":1,"vhosts":{"a":{"routes":[]},"b":null}}'
 * ```
 *
 * @param served The parts of the document ghost serves.
 * @param next The parts of the new document.
 * @returns The delta's text, if a delta can say it.
 */
export function ghostDelta(
  served: Pick<BuiltGhostJson, "frame" | "vhosts">,
  next: Pick<BuiltGhostJson, "frame" | "vhosts">,
): string | undefined {
  if (served.frame !== next.frame) return undefined;
  const parts: string[] = [];
  for (const [host, text] of next.vhosts) {
    if (served.vhosts.get(host) !== text) parts.push(`${JSON.stringify(host)}:${text}`);
  }
  for (const host of served.vhosts.keys()) {
    if (!next.vhosts.has(host)) parts.push(`${JSON.stringify(host)}:null`);
  }
  return parts.length === 0 ? undefined : `{"version":1,"vhosts":{${parts.join(",")}}}`;
}

/**
 * Builds ghost.json incrementally; one instance per chaperone.
 *
 * @example Usage
 * ```ts
 * import { GhostJsonBuilder } from "./ghost_json_builder.ts";
 * import { parseRoutingJson } from "../ghost/contract/mod.ts";
 * const builder = new GhostJsonBuilder();
 * const { text } = builder.build(parseRoutingJson('{"version": 1, "vhosts": {}}'), { services: [], endpointSlices: [] });
 * ```
 */
export class GhostJsonBuilder {
  /** Per routing.json vhost object: the resolutions it was merged with, its merged object and its `"host":{…}` text. */
  #vhosts = new WeakMap<
    RoutingVhost,
    { host: string; deps: string; merged: GhostVhost; value: string; text: string }
  >();
  /**
   * Per Service port (`namespace/name:port`) of the last build: what it resolved to, and a version, new whenever that
   * changes (from one counter, so a Service port that comes back never reuses an old version).
   */
  #resolutions = new Map<string, { json: string; version: number }>();
  #versions = 0;

  /**
   * Merges routing.json with the endpoints and serializes the result.
   *
   * @param routing The routing.json document.
   * @param cluster The Services and EndpointSlices of the namespaces it references.
   * @param self This pod's identity, for the clustered cache.
   * @returns The ghost.json document, its text and its parts.
   */
  build(routing: RoutingJson, cluster: ClusterEndpoints, self?: PeerIdentity): BuiltGhostJson {
    const resolve = backendResolver(cluster);
    const resolutions = new Map<string, { json: string; version: number }>();
    const versionOf = (backend: RoutingBackend): number | string => {
      if (backend.service === undefined) return "u";
      const { namespace, name, port } = backend.service;
      const key = `${namespace}/${name}:${port}`;
      let entry = resolutions.get(key);
      if (entry === undefined) {
        const { endpoints, error, transport } = resolve(backend);
        const json = JSON.stringify([endpoints, error, transport]);
        const last = this.#resolutions.get(key);
        entry = last?.json === json ? last : { json, version: ++this.#versions };
        resolutions.set(key, entry);
      }
      return entry.version;
    };
    const vhosts: GhostJson["vhosts"] = {};
    const texts: string[] = [];
    const values = new Map<string, string>();
    for (const [host, vhost] of Object.entries(routing.vhosts)) {
      const deps = vhost.routes.map((r) =>
        [...r.backends, ...(r.mirrors ?? []).map((m) => m.backend)].map(versionOf).join(",")
      ).join(";");
      let memo = this.#vhosts.get(vhost);
      if (memo?.deps !== deps || memo.host !== host) {
        const merged = mergeVhost(vhost, resolve);
        const value = JSON.stringify(merged);
        memo = { host, deps, merged, value, text: `${JSON.stringify(host)}:${value}` };
        this.#vhosts.set(vhost, memo);
      }
      vhosts[host] = memo.merged;
      texts.push(memo.text);
      values.set(host, memo.value);
    }
    this.#resolutions = resolutions;
    const ghost = ghostDocument(routing, vhosts, peerSection(routing, cluster, self));
    // the document's own fields around the vhosts, in the order ghostDocument gives them
    const head = JSON.stringify({ ...ghost, vhosts: {}, requests: undefined, cluster: undefined }).slice(
      0,
      -"{}}".length,
    );
    const tail = `${ghost.requests ? `,"requests":${JSON.stringify(ghost.requests)}` : ""}${
      ghost.cluster ? `,"cluster":${JSON.stringify(ghost.cluster)}` : ""
    }}`;
    return { ghost, text: `${head}{${texts.join(",")}}${tail}\n`, frame: `${head}${tail}`, vhosts: values };
  }
}
