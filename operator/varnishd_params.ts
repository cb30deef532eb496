/**
 * What GatewayParameters may pass to varnishd. `varnishdArgs` and `storage` come from whoever may edit a
 * GatewayParameters object, and varnishd has parameters that run code (`cc_command`, `vcc_allow_inline_c`), read
 * files (`vcl_path`, `vmod_path`, `-s file,<path>`) or drop the sandbox (`-j none`); so only an allow-list passes:
 * `-p <name>=<value>` for the tuning parameters in {@linkcode SAFE_VARNISHD_PARAMETERS} with a plain value, and
 * `malloc` storage. Pure.
 *
 * @module
 */

/**
 * The varnishd parameters GatewayParameters may set (`-p name=value`): threads, workspaces, header limits,
 * timeouts, TTLs and a few fetch and gzip knobs. None runs code, names a file or changes privileges.
 */
export const SAFE_VARNISHD_PARAMETERS: ReadonlySet<string> = new Set([
  "backend_idle_timeout",
  "between_bytes_timeout",
  "connect_timeout",
  "default_grace",
  "default_keep",
  "default_ttl",
  "fetch_chunksize",
  "first_byte_timeout",
  "gzip_level",
  "http_gzip_support",
  "http_max_hdr",
  "http_req_hdr_len",
  "http_req_size",
  "http_resp_hdr_len",
  "http_resp_size",
  "idle_send_timeout",
  "listen_depth",
  "max_restarts",
  "max_retries",
  "nuke_limit",
  "pipe_timeout",
  "send_timeout",
  "shortlived",
  "thread_pool_add_delay",
  "thread_pool_max",
  "thread_pool_min",
  "thread_pool_stack",
  "thread_pool_timeout",
  "thread_pools",
  "thread_queue_limit",
  "timeout_idle",
  "timeout_linger",
  "workspace_backend",
  "workspace_client",
  "workspace_session",
  "workspace_thread",
]);

// Numbers with an optional unit or fraction (`500`, `64k`, `1.5`, `10s`) and the booleans: never a path or a list.
const PLAIN_VALUE = /^(?:[0-9]+(?:\.[0-9]+)?[a-z]{0,2}|on|off|true|false)$/;

// `malloc`, optionally named and sized: `malloc,256m`, `main=malloc,1g`.
const SAFE_STORAGE = /^(?:[a-z][a-z0-9_]{0,31}=)?malloc(?:,[0-9]+[kmgt]?)?$/i;

/**
 * Checks GatewayParameters' `varnishdArgs` and `storage` against the allow-list.
 *
 * @example Usage
 * ```ts
 * import { varnishdParametersProblem } from "./varnishd_params.ts";
 * varnishdParametersProblem(["-p", "thread_pool_max=500"], "malloc,1g"); // undefined
 * varnishdParametersProblem(["-p", "cc_command=sh -c id"], "malloc,1g"); // 'varnishdArgs: "-p cc_command" ...'
 * ```
 *
 * @param args The extra varnishd arguments.
 * @param storage The storage specification (`-s`).
 * @returns What is refused, or undefined when everything is allowed.
 */
export function varnishdParametersProblem(args: readonly string[], storage: string): string | undefined {
  if (!SAFE_STORAGE.test(storage)) {
    return `storage "${storage}" is refused: only malloc storage is allowed, for example "malloc,256m"`;
  }
  for (let i = 0; i < args.length; i += 2) {
    if (args[i] !== "-p") {
      return `varnishdArgs: "${args[i]}" is refused: only "-p", "<name>=<value>" pairs are allowed`;
    }
    const setting = args[i + 1];
    if (setting === undefined) return `varnishdArgs: "-p" needs a "<name>=<value>" after it`;
    const [name, value] = [setting.slice(0, setting.indexOf("=")), setting.slice(setting.indexOf("=") + 1)];
    if (!setting.includes("=") || !SAFE_VARNISHD_PARAMETERS.has(name)) {
      return `varnishdArgs: "-p ${setting.includes("=") ? name : setting}" is refused: not one of the allowed ` +
        `varnishd parameters (see the operator's README)`;
    }
    if (!PLAIN_VALUE.test(value)) {
      return `varnishdArgs: "-p ${name}=${value}" is refused: the value must be a number (with an optional unit) ` +
        `or on/off`;
    }
  }
  return undefined;
}
