/**
 * `lacquer chaperone`: PID 1 of a gateway pod, supervising varnishd and its configuration.
 *
 * - {@linkcode runChaperone} runs it: varnishd supervision, VCL hot reload, ghost.json from routing.json and
 *   EndpointSlices, the applied-config Pod annotations, and the admin HTTP server.
 * - {@linkcode mergeEndpoints} is the pure merge of routing.json and the cluster's endpoints into ghost.json.
 * - {@linkcode CHAPERONE_FLAGS} and {@linkcode chaperoneConfigSchema} define its command line.
 *
 * @example Merge routing.json with endpoints
 * ```ts
 * import { mergeEndpoints } from "./mod.ts";
 * import { parseRoutingJson } from "../ghost/contract/mod.ts";
 * const ghost = mergeEndpoints(parseRoutingJson('{"version": 1, "vhosts": {}}'), { services: [], endpointSlices: [] });
 * ```
 *
 * @module
 */
export {
  CHAPERONE_FLAGS,
  type ChaperoneConfig,
  chaperoneConfigSchema,
  type ChaperoneFlag,
  type ListenerSocket,
  OWNED_VARNISHD_FLAGS,
  withEnvironment,
} from "./options.ts";
export {
  type ClusterEndpoints,
  mergeEndpoints,
  referencedNamespaces,
  UNRESOLVED_BACKEND_NAME,
} from "./merge_endpoints.ts";
export { type ChaperoneOptions, runChaperone } from "./run_chaperone.ts";
