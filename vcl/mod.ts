/**
 * The VCL of a gateway: `.vcl` templates (imported as text) and the pure generator that assembles `main.vcl`.
 *
 * @example Usage
 * ```ts
 * import { generateMainVcl } from "./mod.ts";
 * const vcl = generateMainVcl({ gateway: "default/gw", userVcl: "sub vcl_backend_response { set beresp.ttl = 1m; }" });
 * ```
 *
 * @module
 */
export { generateMainVcl, type MainVclOptions, type UserVclLines, userVclLines } from "./generate_main_vcl.ts";
