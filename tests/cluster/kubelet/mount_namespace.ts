/**
 * Private mount namespaces for containers, so a process sees its pod's volumes at their declared `mountPath`s, as in
 * a real container runtime (product code may use fixed paths such as /var/run/lacquer/ghost.json). Arguments and
 * environment values that name mount paths are still rewritten to the pod's own files (path_rewrite.ts); the bind
 * mounts cover paths the process learns in other ways, for example from configuration files. Pure.
 *
 * @module
 */

/** One bind mount: the pod's file or directory `source` appears at `target` inside the namespace. */
export interface BindMount {
  source: string;
  target: string;
}

function quote(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}

/**
 * Wraps a command so that it runs in a new private mount namespace with the given bind mounts. Mount points that do
 * not exist on the host are created (empty) first. Without mounts the command is returned unchanged.
 *
 * @example Usage
 * ```ts
 * import { withBindMounts } from "./mount_namespace.ts";
 * withBindMounts({ program: "varnishd", args: ["-F"] }, [{ source: "/pods/p1/run", target: "/var/run/lacquer" }]);
 * // { program: "unshare", args: ["--mount", "--propagation", "private", "--", "sh", "-c", "...", "varnishd", "-F"] }
 * ```
 *
 * @param command The program and its arguments.
 * @param mounts The bind mounts, applied in order.
 * @returns The wrapped command.
 */
export function withBindMounts(
  command: { program: string; args: string[] },
  mounts: readonly BindMount[],
): { program: string; args: string[] } {
  const usable = mounts.filter((m) => m.target.startsWith("/") && m.target.replace(/\/+$/, "") !== "");
  if (usable.length === 0) return command;
  const steps = usable.map(({ source, target }) => {
    const s = quote(source), t = quote(target.replace(/\/+$/, ""));
    // a file is mounted onto a file, a directory onto a directory
    return `if [ -d ${s} ]; then mkdir -p ${t}; else mkdir -p "$(dirname ${t})"; [ -e ${t} ] || : > ${t}; fi; ` +
      `mount --bind ${s} ${t}`;
  });
  const script = `set -e; ${steps.join("; ")}; exec "$0" "$@"`;
  return {
    program: "unshare",
    args: ["--mount", "--propagation", "private", "--", "sh", "-c", script, command.program, ...command.args],
  };
}
