/**
 * The images `deno task images` builds, their names, and where their files are. Pure: this is the one place other
 * code (the local cluster's node, the chart, the demo) learns image names and paths from.
 *
 * Every image is written below `<cache>/images/<name>/` (the cache root is `$LACQUER_CACHE`, by default
 * `~/.cache/lacquer`):
 *
 * - `oci/`: an OCI image layout holding the image under the tag `<name>` (`skopeo copy oci:<dir>:<name> ...`);
 * - `image.tar`: a `docker-archive` tarball carrying {@linkcode ImageSpec.ref} and every alias, for `docker load`,
 *   `podman load` and `ctr -n k8s.io images import`;
 * - `sbom.spdx.json`: the image's contents (Debian packages, npm packages, crates) as SPDX 2.3 JSON;
 * - `image.json`: an {@linkcode ImageRecord}: the names, the manifest digest, the sizes and the inputs hash.
 *
 * @module
 */
import denoJson from "../deno.json" with { type: "json" };

/** The images the build knows. */
export type ImageName = "lacquer-gateway" | "lacquer-operator" | "pause" | "echo-basic" | "coredns";

/** One image: its name in the cache and the references it is imported under. */
export interface ImageSpec {
  /** The short name: the folder below `<cache>/images/` and the tag in the OCI layout. */
  name: ImageName;
  /** The reference manifests use. Never `:latest`, so that the default pull policy is IfNotPresent. */
  ref: string;
  /** Further references of the same image (the conformance manifests name echo-basic several ways). */
  aliases: readonly string[];
}

/** The Lacquer release the images carry, from deno.json. */
export const IMAGE_VERSION: string = denoJson.version;

/** Versions of the third-party images, as the Kubernetes and Gateway API releases we test with name them. */
export const THIRD_PARTY_VERSIONS = { pause: "3.10.2", coredns: "v1.12.2", gatewayApi: "v1.6.1" } as const;

/** Every image, by name. */
export const IMAGES: Readonly<Record<ImageName, ImageSpec>> = {
  "lacquer-gateway": {
    name: "lacquer-gateway",
    ref: `ghcr.io/lacquer/lacquer-gateway:${IMAGE_VERSION}`,
    aliases: [],
  },
  "lacquer-operator": {
    name: "lacquer-operator",
    ref: `ghcr.io/lacquer/lacquer-operator:${IMAGE_VERSION}`,
    aliases: [],
  },
  pause: { name: "pause", ref: `registry.k8s.io/pause:${THIRD_PARTY_VERSIONS.pause}`, aliases: [] },
  "echo-basic": {
    name: "echo-basic",
    ref: `registry.k8s.io/gateway-api/echo-basic:${THIRD_PARTY_VERSIONS.gatewayApi}`,
    // Every name the v1.6.1 conformance manifests use. echo-advanced (mesh and gRPC tests only, which Lacquer does
    // not run) answers HTTP the same way, so echo-basic stands in for it; the mirroring tests use echo-basic itself.
    aliases: [
      "registry.k8s.io/gateway-api/echo-basic:v1.5.1",
      "registry.k8s.io/gateway-api/echo-basic:v1.6.0-dev.2",
      "registry.k8s.io/gateway-api/echo-basic:v1.6.0-dev.3",
      "registry.k8s.io/gateway-api/echo-advanced:v1.5.1",
    ],
  },
  coredns: { name: "coredns", ref: `registry.k8s.io/coredns/coredns:${THIRD_PARTY_VERSIONS.coredns}`, aliases: [] },
};

/** What `image.json` beside each image says. */
export interface ImageRecord extends ImageSpec {
  /** The manifest digest, `sha256:<hex>`: the image's identity in a registry or containerd. */
  digest: string;
  /** The sum of the compressed layer sizes, in bytes (what a pull transfers). */
  compressedBytes: number;
  /** The sum of the uncompressed layer sizes, in bytes (what the image takes on a node). */
  uncompressedBytes: number;
  /** The hash of every input of the build; a build with the same inputs hash reuses this image. */
  inputsHash: string;
}

/** The files of one built image. */
export interface ImageFiles {
  /** The folder of the image. */
  dir: string;
  /** The OCI image layout. */
  ociLayout: string;
  /** The layout and tag as a skopeo/umoci reference: `oci:<dir>:<name>`. */
  ociReference: string;
  /** The docker-archive tarball. */
  archive: string;
  /** The SPDX 2.3 JSON SBOM. */
  sbom: string;
  /** The {@linkcode ImageRecord} JSON. */
  record: string;
}

/**
 * Returns where the files of an image are.
 *
 * @example Usage
 * ```ts
 * import { imageFiles } from "./catalog.ts";
 * imageFiles("pause", "/root/.cache/lacquer").archive; // "/root/.cache/lacquer/images/pause/image.tar"
 * ```
 *
 * @param name The image.
 * @param cache The cache root (`$LACQUER_CACHE`, by default `~/.cache/lacquer`).
 * @returns The paths.
 */
export function imageFiles(name: ImageName, cache: string): ImageFiles {
  const dir = `${cache}/images/${name}`;
  return {
    dir,
    ociLayout: `${dir}/oci`,
    ociReference: `oci:${dir}/oci:${name}`,
    archive: `${dir}/image.tar`,
    sbom: `${dir}/sbom.spdx.json`,
    record: `${dir}/image.json`,
  };
}

/**
 * Returns every reference of an image: its own and its aliases.
 *
 * @example Usage
 * ```ts
 * import { IMAGES, imageReferences } from "./catalog.ts";
 * imageReferences(IMAGES.pause); // ["registry.k8s.io/pause:3.10.2"]
 * ```
 *
 * @param spec The image.
 * @returns The references, the image's own first.
 */
export function imageReferences(spec: ImageSpec): string[] {
  return [spec.ref, ...spec.aliases];
}

/**
 * Returns the docker-archive tarballs of every image, for a node to import (each carries all its references).
 *
 * @example Usage
 * ```ts
 * import { imageArchives } from "./catalog.ts";
 * imageArchives("/c").length; // 5
 * ```
 *
 * @param cache The cache root (`$LACQUER_CACHE`, by default `~/.cache/lacquer`).
 * @returns The paths, in {@linkcode IMAGES} order.
 */
export function imageArchives(cache: string): string[] {
  return (Object.keys(IMAGES) as ImageName[]).map((name) => imageFiles(name, cache).archive);
}
