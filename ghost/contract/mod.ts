/**
 * The two JSON contracts of Lacquer, owned by the routing engine that consumes them.
 *
 * - routing.json (operator → ConfigMap → chaperone): the route tree of a Gateway, backends named as Services.
 * - ghost.json (chaperone → ghost VMOD): the same tree with each backend resolved to ready endpoints.
 * - routing-shards.json (operator → chaperone): how a large routing.json is stored, split by hostname into shards.
 * - ghost.json.delta (chaperone → ghost VMOD): the vhosts and `backends` entries of ghost.json that changed, applied
 *   to the document ghost serves.
 *
 * Both are zod schemas here, exported as JSON Schema in `schema/`, with golden documents in `testdata/` that the
 * TypeScript and the Rust tests both read.
 *
 * @example Usage
 * ```ts
 * import { parseRoutingJson, stringifyContract } from "./mod.ts";
 * const routing = parseRoutingJson('{"version": 1, "vhosts": {}}');
 * const text = stringifyContract(routing);
 * ```
 *
 * @module
 */
export * from "./route_parts.ts";
export * from "./ghost_delta.ts";
export * from "./ghost_json.ts";
export * from "./json_schemas.ts";
export * from "./parse_contract.ts";
export * from "./routing_json.ts";
export * from "./routing_shards.ts";
