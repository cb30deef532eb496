/**
 * The images the real node imports into containerd at start, and the two it needs itself.
 *
 * @module
 */

/** The sandbox image (built locally, like every image here: nothing is pulled). */
export const PAUSE_IMAGE = "registry.k8s.io/pause:3.10.2";
/** CoreDNS, for the cluster DNS (the version the Gateway API conformance manifests deploy too). */
export const COREDNS_IMAGE = "registry.k8s.io/coredns/coredns:v1.12.2";

/**
 * Lists the `docker-archive` tarballs to import: every `*.tar` in `$LACQUER_NODE_IMAGES`, else in
 * `<cache>/node-images`.
 *
 * @param cache The cache root.
 * @param env The environment (`Deno.env`).
 * @returns The archive paths, sorted.
 * @throws {Error} When there are none (the node could not even start its pod sandboxes).
 */
export async function nodeImageArchives(
  cache: string,
  env: { get(name: string): string | undefined },
): Promise<string[]> {
  const dir = env.get("LACQUER_NODE_IMAGES") || `${cache}/node-images`;
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isDirectory && e.name.endsWith(".tar")) out.push(`${dir}/${e.name}`);
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  if (out.length === 0) throw new Error(`Cannot start the real node: no image archives (*.tar) in ${dir}`);
  return out.sort();
}
