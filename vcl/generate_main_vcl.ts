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
  GHOST_PEER_PORT,
  GHOST_PEER_SOCKET_NAME,
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
  /**
   * The sockets (e.g. `port-443`) of HTTPS listeners that verify client certificates: their requests tell backends
   * the result in `X-SSL-Client-Verify`. @default {[]}
   */
  clientVerifySockets?: readonly string[];
}

const VERSION_DECLARATION = /^\s*(?:(?:#|\/\/)[^\n]*\n\s*|\/\*[\s\S]*?\*\/\s*)*vcl\s+\d+\.\d+\s*;/;

/** The vcl_recv statements that set `X-SSL-Client-Verify` on the given sockets, from hitch's PROXY header. */
function clientVerifyVcl(sockets: readonly string[]): string {
  if (sockets.length === 0) return "";
  const bad = sockets.find((s) => !/^[A-Za-z0-9._-]+$/.test(s));
  if (bad !== undefined) throw new RangeError(`Cannot name socket "${bad}" in VCL`);
  const condition = [...new Set(sockets)].sort().map((s) => `local.socket == "${s}"`).join(" || ");
  return [
    `    if (${condition}) {`,
    "        if (proxy.client_has_cert_conn() && proxy.ssl_verify_result() == 0) {",
    '            set req.http.X-SSL-Client-Verify = "SUCCESS";',
    "        } else if (proxy.client_has_cert_sess()) {",
    '            set req.http.X-SSL-Client-Verify = "FAILED:" + proxy.ssl_verify_result();',
    "        } else {",
    '            set req.http.X-SSL-Client-Verify = "NONE";',
    "        }",
    "    }",
    "",
  ].join("\n");
}

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
  const { head, user } = parts(options);
  return `${head}${user ? user + "\n" : ""}${postamble}`;
}

/** Where the user's VCL sits in main.vcl, to map varnishd's line numbers back to the user's own. */
export interface UserVclLines {
  /** The main.vcl line of the user's first kept line (1-based). */
  first: number;
  /** The main.vcl line of the user's last line. */
  last: number;
  /** The user's own line number of main.vcl line {@linkcode UserVclLines.first} (leading lines are not copied). */
  userFirst: number;
}

/**
 * Tells which lines of the main.vcl that {@linkcode generateMainVcl} builds hold the user's VCL.
 *
 * @example Usage
 * ```ts
 * import { generateMainVcl, userVclLines } from "./generate_main_vcl.ts";
 * const userVcl = "vcl 4.1;\n\nsub vcl_recv {\n  set req.http.x = 1;\n}\n";
 * const lines = userVclLines({ gateway: "default/gw", userVcl })!;
 * // generateMainVcl(...).split("\n")[lines.first - 1] === "sub vcl_recv {", and that is the user's line 3
 * lines.userFirst; // 3
 * ```
 *
 * @param options The same options as for {@linkcode generateMainVcl}.
 * @returns The lines, or undefined without user VCL.
 */
export function userVclLines(options: MainVclOptions): UserVclLines | undefined {
  const { head, user, skipped } = parts(options);
  if (!user) return undefined;
  const first = lineCount(head) + 1;
  return { first, last: first + lineCount(user) - 1, userFirst: skipped + 1 };
}

function lineCount(text: string): number {
  return text.split("\n").length - 1;
}

/** The preamble with a blank line, the user's VCL as copied, and how many of the user's leading lines were left out. */
function parts(options: MainVclOptions): { head: string; user: string; skipped: number } {
  const values = {
    gateway: options.gateway.replace(/[^A-Za-z0-9./_-]/g, "_"),
    ghostJson: GHOST_JSON_PATH,
    ghostSocket: GHOST_SOCKET_NAME,
    ghostPort: String(GHOST_CONTROL_PORT),
    peerSocket: GHOST_PEER_SOCKET_NAME,
    peerPort: String(GHOST_PEER_PORT),
    reloadPath: GHOST_RELOAD_PATH,
    statsPath: GHOST_STATS_PATH,
    clientVerify: clientVerifyVcl(options.clientVerifySockets ?? []),
  };
  let removed = 0;
  const undeclared = (options.userVcl ?? "").replace(VERSION_DECLARATION, (m) => {
    const kept = m.replace(/vcl\s+\d+\.\d+\s*;$/, "");
    removed = lineCount(m) - lineCount(kept);
    return kept;
  });
  const user = undeclared.trim();
  const leading = undeclared.slice(0, undeclared.length - undeclared.trimStart().length);
  return { head: `${fill(preamble, values)}\n`, user: user ? user + "\n" : "", skipped: removed + lineCount(leading) };
}
