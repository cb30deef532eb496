/**
 * The varnishd command line chaperone runs. Pure.
 *
 * @module
 */
import { GHOST_SOCKET_NAME } from "../internal/names.ts";
import type { ListenerSocket } from "./options.ts";

/** Inputs of {@linkcode varnishdArgs}. */
export interface VarnishdArgsOptions {
  /** varnishd's working directory (`-n`). */
  instanceDir: string;
  /** The CLI secret file (`-S`). */
  secretFile: string;
  /** The CLI port on 127.0.0.1 (`-T`). */
  cliPort: number;
  /** The ghost control socket port on 127.0.0.1. */
  ghostPort: number;
  /** The listeners (`-a name=host:port`). */
  listeners: readonly ListenerSocket[];
  /**
   * The TLS listeners' loopback sockets, where hitch forwards decrypted connections with a PROXY v2 header
   * (`-a name=127.0.0.1:port,PROXY`). @default {[]}
   */
  proxyListeners?: readonly { name: string; port: number }[];
  /** The storage (`-s`). */
  storage: string;
  /** `vmod_path`, when set. */
  vmodPath?: string;
  /** Serve HTTP/2 to clients (`-p feature=+http2`), for the ALPN `h2` hitch then offers. @default {false} */
  http2?: boolean;
  /** The VCL compiler command (`-p cc_command=`, see `vcl_compile_cache.ts`), when not varnishd's own. */
  ccCommand?: string;
  /** Extra arguments, appended last. */
  extra: readonly string[];
}

/**
 * Builds varnishd's arguments: foreground (`-F`), no VCL at start (`-f ""`, so the child waits for chaperone's
 * `vcl.inline` and `start`), the CLI on loopback with a secret, the declared listeners, and the loopback ghost
 * control socket. TLS listeners get a loopback PROXY socket under their own name, so ghost's listener isolation
 * works the same for both.
 *
 * @example Usage
 * ```ts
 * import { varnishdArgs } from "./varnishd_args.ts";
 * varnishdArgs({
 *   instanceDir: "/var/run/lacquer/varnishd",
 *   secretFile: "/var/run/lacquer/secret",
 *   cliPort: 6082,
 *   ghostPort: 6091,
 *   listeners: [{ name: "port-80", host: "", port: 80 }],
 *   storage: "malloc,256m",
 *   extra: [],
 * });
 * ```
 *
 * @param options The pieces.
 * @returns The argument list.
 */
export function varnishdArgs(options: VarnishdArgsOptions): string[] {
  const args = [
    "-F",
    "-n",
    options.instanceDir,
    "-f",
    "",
    "-T",
    `127.0.0.1:${options.cliPort}`,
    "-S",
    options.secretFile,
  ];
  for (const listener of options.listeners) {
    const host = listener.host.includes(":") && !listener.host.startsWith("[") ? `[${listener.host}]` : listener.host;
    args.push("-a", `${listener.name}=${host}:${listener.port}`);
  }
  for (const listener of options.proxyListeners ?? []) {
    args.push("-a", `${listener.name}=127.0.0.1:${listener.port},PROXY`);
  }
  args.push("-a", `${GHOST_SOCKET_NAME}=127.0.0.1:${options.ghostPort}`);
  args.push("-s", options.storage);
  if (options.vmodPath !== undefined) args.push("-p", `vmod_path=${options.vmodPath}`);
  if (options.http2) args.push("-p", "feature=+http2");
  if (options.ccCommand !== undefined) args.push("-p", `cc_command=${options.ccCommand}`);
  args.push(...options.extra);
  return args;
}
