/**
 * Builds images by name and reports each one's digest, size and build time.
 *
 * @module
 */
import { type ImageName, type ImageRecord, IMAGES } from "./catalog.ts";
import { type BuildContext, RECIPES } from "./recipes.ts";
import { writeImage } from "./write_image.ts";

/** Options of {@linkcode buildImages}. */
export interface BuildImagesOptions extends BuildContext {
  /** The images to build. @default {every image} */
  names?: readonly ImageName[];
  /** Receives one progress line per image. @default {no output} */
  log?: (line: string) => void;
}

/**
 * Builds the images: every layer whose inputs are unchanged comes from the cache, and an image whose layers and
 * settings are unchanged is not written again.
 *
 * @example Usage
 * ```ts ignore
 * import { buildImages } from "./build_images.ts";
 * const records = await buildImages({ repo: "/src/lacquer", cache: "/root/.cache/lacquer", updateLock: false });
 * ```
 *
 * @param options The repository, the cache and which images.
 * @returns The records of the images, in the order built.
 */
export async function buildImages(options: BuildImagesOptions): Promise<ImageRecord[]> {
  const names = options.names ?? (Object.keys(IMAGES) as ImageName[]);
  const records: ImageRecord[] = [];
  for (const name of names) {
    const started = performance.now();
    const parts = await RECIPES[name](options);
    const { record, written } = await writeImage(IMAGES[name], parts, options.cache);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    options.log?.(
      `[images] ${name.padEnd(16)} ${record.digest.slice(0, 19)}  ${mib(record.compressedBytes)} compressed, ` +
        `${mib(record.uncompressedBytes)} unpacked, ${parts.layers.length} layers, ${seconds} s` +
        `${written ? "" : " (cached)"}  ${record.ref}`,
    );
    records.push(record);
  }
  return records;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1).padStart(6)} MiB`;
}
