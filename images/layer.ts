/**
 * Packs a folder into a reproducible, gzip-compressed layer, and caches layers by the hash of their inputs.
 *
 * Reproducible means: entries sorted by name, every mtime set to the epoch, numeric owners, no atime/ctime or
 * extended attributes, and gzip without a name or timestamp. So the same files always give the same digest.
 *
 * @module
 */
import { contentHash } from "../internal/content_hash.ts";
import type { Layer } from "./oci.ts";
import { runCommand } from "../tests/cluster/run_command.ts";
import type { SbomPackage } from "./sbom.ts";

/** A cached layer: the blob and what it holds. */
export interface CachedLayer extends Layer {
  /** The compressed blob. */
  path: string;
  /** The packages in it, for the SBOM. */
  packages: SbomPackage[];
}

/** What a layer producer returns besides the files it wrote. */
export interface Produced {
  /** The packages it installed. @default {[]} */
  packages?: SbomPackage[];
}

/** Options of {@linkcode cachedLayer}. */
export interface CachedLayerOptions {
  /** The layer cache folder (`<cache>/images/layers`). */
  dir: string;
  /** Every input of the layer, as text (versions, file hashes, the recipe); its hash is the cache key. */
  inputs: readonly string[];
  /** What the layer holds, for its history entry. */
  comment: string;
  /** Writes the layer's files into the empty folder `root`. */
  produce(root: string): Promise<Produced>;
}

/**
 * Returns the layer for these inputs from the cache, or produces, packs and caches it.
 *
 * @example Usage
 * ```ts ignore
 * import { cachedLayer } from "./layer.ts";
 * const layer = await cachedLayer({ dir, inputs: ["pause", hash], comment: "pause", produce: async (root) => ({}) });
 * ```
 *
 * @param options The inputs and the producer.
 * @returns The layer.
 */
export async function cachedLayer(options: CachedLayerOptions): Promise<CachedLayer> {
  const key = contentHash(options.inputs.join("\n")).slice(7);
  const meta = `${options.dir}/${key}.json`;
  const cached = await readJson<CachedLayer>(meta);
  // The archive beside the metadata, whatever path it was recorded under: a private cache (a link to this directory)
  // that recorded it may be gone.
  const archive = `${options.dir}/${key}.tar.gz`;
  if (cached && await exists(archive)) return { ...cached, path: archive };
  await Deno.mkdir(options.dir, { recursive: true });
  const root = await Deno.makeTempDir({ dir: options.dir, prefix: `.${key}.root-` });
  try {
    const produced = await options.produce(root);
    const packed = await packLayer(root, archive);
    const layer: CachedLayer = { ...packed, comment: options.comment, packages: produced.packages ?? [] };
    await Deno.writeTextFile(`${meta}.tmp`, JSON.stringify(layer, null, 2) + "\n");
    await Deno.rename(`${meta}.tmp`, meta);
    return layer;
  } finally {
    await removeUnmounted(root);
  }
}

/**
 * Removes a build tree, unless something is still mounted below it: mmdebstrap mounts /dev, /proc and /sys into the
 * tree while it installs, and a recursive removal through such a mount would delete the host's files.
 */
async function removeUnmounted(root: string): Promise<void> {
  const mounts = (await Deno.readTextFile("/proc/mounts")).split("\n").map((l) => l.split(" ")[1] ?? "");
  const below = mounts.filter((m) => m === root || m.startsWith(`${root}/`));
  if (below.length > 0) {
    throw new Error(`Cannot remove the build tree "${root}": still mounted there: ${below.join(", ")}`);
  }
  await Deno.remove(root, { recursive: true });
}

/**
 * Packs a folder into a reproducible gzip-compressed tar.
 *
 * @param root The folder; its contents become the layer's root.
 * @param out The `.tar.gz` file to write.
 * @returns The blob's digests and sizes.
 */
export async function packLayer(root: string, out: string): Promise<Omit<CachedLayer, "comment" | "packages">> {
  const tar = `${out}.tmp.tar`;
  const entries = [...Deno.readDirSync(root)].map((e) => e.name).sort();
  await runCommand("tar", {
    args: [
      "--create",
      "--file",
      tar,
      "--directory",
      root,
      "--sort=name",
      "--format=posix",
      "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime",
      "--mtime=@0",
      "--numeric-owner",
      "--no-xattrs",
      "--no-acls",
      "--no-selinux",
      "--",
      ...entries,
    ],
  });
  const diffId = await sha256File(tar);
  const uncompressedSize = (await Deno.stat(tar)).size;
  await runCommand("gzip", { args: ["-n", "-6", "--force", tar] });
  await Deno.rename(`${tar}.gz`, out);
  return { path: out, digest: await sha256File(out), size: (await Deno.stat(out)).size, diffId, uncompressedSize };
}

/**
 * Hashes a file as `sha256:<hex>`.
 *
 * @param path The file.
 * @returns The digest.
 */
export async function sha256File(path: string): Promise<string> {
  const { stdout } = await runCommand("sha256sum", { args: [path] });
  return `sha256:${stdout.split(" ")[0]}`;
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as T;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
