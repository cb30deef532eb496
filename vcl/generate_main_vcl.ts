/**
 * Generates a gateway's `main.vcl`: the preamble template, the user's VCL, and the postamble, by concatenation
 * (no VCL parsing). Varnish concatenates repeated `sub` definitions in order, so user subroutines run after the
 * preamble's (routing and the cache decision are done: `X-Gateway-Route` is set) and before the postamble's
 * `return (hash)` or `return (pass)` and the built-in VCL. The preamble follows ghost's canonical wiring (`ghost/ghost.vcl`), split so that user VCL can
 * run in `vcl_recv`.
 *
 * @module
 */
import {
  GHOST_CONTROL_PORT,
  GHOST_JSON_PATH,
  GHOST_RELOAD_PATH,
  GHOST_SOCKET_NAME,
  GHOST_STATS_PATH,
} from "../internal/names.ts";
import postamble from "./postamble.vcl" with { type: "text" };
import preamble from "./preamble.vcl" with { type: "text" };

/** Options for {@linkcode generateMainVcl}. */
export interface MainVclOptions {
  /** The Gateway, as `namespace/name`, named in the header comment. */
  gateway: string;
  /** The user's VCL, if any. A leading `vcl 4.x;` declaration is removed (the preamble has one). */
  userVcl?: string;
}

const VERSION_DECLARATION = /^\s*(?:(?:#|\/\/)[^\n]*\n\s*|\/\*[\s\S]*?\*\/\s*)*vcl\s+\d+\.\d+\s*;/;

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => values[key] ?? whole);
}

/**
 * Builds the main.vcl text.
 *
 * @example Usage
 * ```ts
 * import { generateMainVcl } from "./generate_main_vcl.ts";
 * const vcl = generateMainVcl({ gateway: "default/gw" });
 * // vcl.startsWith("vcl 4.1;")
 * ```
 *
 * @param options The Gateway and the user VCL.
 * @returns The VCL, ending with a newline.
 */
export function generateMainVcl(options: MainVclOptions): string {
  const values = {
    gateway: options.gateway.replace(/[^A-Za-z0-9./_-]/g, "_"),
    ghostJson: GHOST_JSON_PATH,
    ghostSocket: GHOST_SOCKET_NAME,
    ghostPort: String(GHOST_CONTROL_PORT),
    reloadPath: GHOST_RELOAD_PATH,
    statsPath: GHOST_STATS_PATH,
  };
  let user = (options.userVcl ?? "").replace(VERSION_DECLARATION, (m) => m.replace(/vcl\s+\d+\.\d+\s*;$/, "")).trim();
  if (user) user += "\n";
  return `${fill(preamble, values)}${user ? "\n" + user + "\n" : "\n"}${postamble}`;
}
