/**
 * The images the real node imports into containerd at start (every image `deno task images` builds: see
 * images/catalog.ts), and the two it needs itself.
 *
 * @module
 */
import { imageArchives, IMAGES } from "../../../images/catalog.ts";

/** The sandbox image. */
export const PAUSE_IMAGE: string = IMAGES.pause.ref;
/** The upstream echo server, for test backends and wherever a test needs a real image other than pause. */
export const ECHO_IMAGE: string = IMAGES["echo-basic"].ref;
/** CoreDNS, for the cluster DNS (the version the Gateway API conformance manifests deploy too). */
export const COREDNS_IMAGE: string = IMAGES.coredns.ref;

/**
 * Lists the `docker-archive` tarballs to import: one per image of the catalog.
 *
 * @param cache The cache root.
 * @returns The archive paths, in the catalog's order.
 * @throws {Error} When an image is not built yet, naming the command that builds it.
 */
export async function nodeImageArchives(cache: string): Promise<string[]> {
  const archives = imageArchives(cache);
  const missing = [];
  for (const archive of archives) if (!await Deno.stat(archive).then(() => true, () => false)) missing.push(archive);
  if (missing.length > 0) {
    throw new Error(`Cannot start the real node: no ${missing.join(", ")}; run \`deno task images\``);
  }
  return archives;
}
