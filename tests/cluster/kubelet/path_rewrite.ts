/**
 * Path rewriting for pods that run as host processes: every volume of a pod is materialised below the pod's own
 * root directory, so two pods can both "mount" `/etc/config`. Arguments, environment values and the working
 * directory that name a path under a volume's `mountPath` are rewritten to the same path below the root. Pure.
 *
 * The root is also passed to the process as `LACQUER_POD_ROOT`; in-cluster clients read the service-account files
 * from `$LACQUER_POD_ROOT/var/run/secrets/kubernetes.io/serviceaccount` (`loadKubeConfig` does that).
 *
 * @module
 */

/**
 * Rewrites one value: the whole value, or the part after the first `=` (`--config=/etc/x`), when it is a mount
 * path or below one.
 *
 * @example Usage
 * ```ts
 * import { rewritePath } from "./path_rewrite.ts";
 * rewritePath("--vcl=/etc/lacquer/main.vcl", { root: "/pods/p1/root", mountPaths: ["/etc/lacquer"] });
 * // "--vcl=/pods/p1/root/etc/lacquer/main.vcl"
 * ```
 *
 * @param value An argument or environment value.
 * @param options The pod root and the mount paths of the container.
 * @returns The rewritten value.
 */
export function rewritePath(value: string, options: { root: string; mountPaths: readonly string[] }): string {
  const rewriteOne = (v: string) => {
    for (const mount of options.mountPaths) {
      const m = mount.replace(/\/+$/, "") || "/";
      if (m === "/") continue;
      if (v === m || v.startsWith(m + "/")) return options.root + v;
    }
    return v;
  };
  const eq = value.indexOf("=");
  if (eq > 0 && value.startsWith("-")) return value.slice(0, eq + 1) + rewriteOne(value.slice(eq + 1));
  return rewriteOne(value);
}
