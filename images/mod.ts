/**
 * Lacquer's OCI images: what they are called and where `deno task images` writes them (`catalog.ts`), and the
 * build (`build_images.ts`). See images/README.md.
 *
 * @example Usage
 * ```ts
 * import { IMAGES, imageFiles } from "./mod.ts";
 * const files = imageFiles(IMAGES["lacquer-gateway"].name, "/root/.cache/lacquer");
 * // files.archive: the docker-archive tarball to import into containerd
 * ```
 *
 * @module
 */
export * from "./catalog.ts";
export { buildImages, type BuildImagesOptions } from "./build_images.ts";
