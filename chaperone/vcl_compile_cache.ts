/**
 * A cache of compiled VCL in front of varnishd's C compiler. varnishd turns every VCL it loads into C and runs
 * `cc_command` to build a shared object; after a varnishd restart the chaperone loads the same VCL again, and the
 * compile (seconds on a busy node) is most of the time the pod refuses connections. The cache keys each object by
 * the generated C and the compiler's command line, so a VCL compiled before (under any name, by any varnishd of
 * the pod) is copied instead of compiled. It lives in the pod's work directory, which outlives varnishd and the
 * gateway container, and keeps the most recently used objects only.
 *
 * @module
 */

/** Compiled objects kept; older ones are removed after each compile. */
export const VCL_COMPILE_CACHE_ENTRIES = 8;

/**
 * The wrapper varnishd runs as its compiler, in the VCL's build directory: `<cache dir> <output> <source>` and
 * then varnishd's own compile command (`%D`, starting with `exec`). Anything the cache cannot do (no `sha256sum`, a
 * full disk) falls back to compiling.
 */
export const VCL_COMPILE_CACHE_SCRIPT =
  `# Lacquer's cache of compiled VCL: <cache dir> <output> <source> <varnishd's compile command>
cache=$1 out=$2 src=$3
shift 3
[ "$1" = exec ] && shift
key=$({ cat "$src" && printf '%s\\n' "$@"; } | sha256sum | cut -d' ' -f1) || key=
if [ -n "$key" ] && cp "$cache/$key.so" "$out" 2>/dev/null; then
  touch "$cache/$key.so" 2>/dev/null
  exit 0
fi
"$@" || exit
[ -n "$key" ] || exit 0
cp "$out" "$cache/$key.so.$$" 2>/dev/null && mv -f "$cache/$key.so.$$" "$cache/$key.so" 2>/dev/null
ls -1t "$cache"/*.so 2>/dev/null | tail -n +${VCL_COMPILE_CACHE_ENTRIES + 1} | while read -r old; do rm -f "$old"; done
exit 0
`;

/**
 * varnishd's `cc_command` running the wrapper (varnishd expands `%o`, `%s` and `%D` for each compile).
 *
 * @example Usage
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { vclCompileCacheCommand } from "./vcl_compile_cache.ts";
 * equal(vclCompileCacheCommand("/run/cc.sh", "/run/cc"), "exec /bin/sh '/run/cc.sh' '/run/cc' %o %s %D");
 * ```
 *
 * @param script Where the wrapper is.
 * @param cacheDir Where the compiled objects are kept.
 * @returns The parameter's value.
 * @throws {Error} When a path holds a quote or a percent sign, which the command cannot carry.
 */
export function vclCompileCacheCommand(script: string, cacheDir: string): string {
  for (const path of [script, cacheDir]) {
    if (/['%]/.test(path)) throw new Error(`Cannot cache compiled VCL in ${path}: the path holds ' or %`);
  }
  return `exec /bin/sh '${script}' '${cacheDir}' %o %s %D`;
}

/**
 * Writes the wrapper into the work directory and makes the cache directory, writable by varnishd's compiler (an
 * unprivileged user of its own when varnishd starts as root).
 *
 * @param workDir The chaperone's work directory.
 * @returns varnishd's `cc_command`.
 */
export async function prepareVclCompileCache(workDir: string): Promise<string> {
  const script = `${workDir}/vcl-cc.sh`;
  const cacheDir = `${workDir}/vcl-cache`;
  await Deno.writeTextFile(script, VCL_COMPILE_CACHE_SCRIPT, { mode: 0o644 });
  await Deno.mkdir(cacheDir, { recursive: true });
  await Deno.chmod(cacheDir, 0o1777);
  return vclCompileCacheCommand(script, cacheDir);
}
