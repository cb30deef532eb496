/**
 * The JSON documents of an OCI image: config, manifest and the layout's index. Pure: the same layers and settings
 * always give the same bytes (keys in a fixed order, a fixed creation time), which is what makes the image digest
 * reproducible.
 *
 * @module
 */

/** Media types this build writes. */
export const MEDIA_TYPES = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar+gzip",
} as const;

/**
 * The creation time written into every image: the Unix epoch, as SOURCE_DATE_EPOCH=0 builds do. A wall-clock time
 * would give every build a new digest.
 */
export const FIXED_CREATED = "1970-01-01T00:00:00Z";

/** One packed layer. */
export interface Layer {
  /** Digest of the compressed blob, `sha256:<hex>`. */
  digest: string;
  /** Size of the compressed blob in bytes. */
  size: number;
  /** Digest of the uncompressed tar (the config's `rootfs.diff_ids`). */
  diffId: string;
  /** Size of the uncompressed tar in bytes. */
  uncompressedSize: number;
  /** What the layer holds, shown as its history entry (`docker history`). */
  comment: string;
}

/** How the image runs. */
export interface RuntimeConfig {
  /** The entrypoint, exec form. */
  entrypoint: readonly string[];
  /** Default arguments after the entrypoint. @default {[]} */
  cmd?: readonly string[];
  /** `uid:gid`. Numeric, so that `runAsNonRoot` can verify it without reading /etc/passwd. */
  user: string;
  /** `NAME=value` environment entries. @default {[]} */
  env?: readonly string[];
  /** The working directory. @default {"/"} */
  workingDir?: string;
  /** Image labels (`org.opencontainers.image.*`). @default {{}} */
  labels?: Readonly<Record<string, string>>;
}

/** A blob descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

/**
 * Builds the image config (the document whose digest is the image ID).
 *
 * @example Usage
 * ```ts
 * import { imageConfig } from "./oci.ts";
 * const config = imageConfig({ entrypoint: ["/pause"], user: "65535:65535" }, []);
 * // config.architecture === "amd64"
 * ```
 *
 * @param runtime How the image runs.
 * @param layers The layers, bottom first.
 * @returns The config document.
 */
export function imageConfig(runtime: RuntimeConfig, layers: readonly Layer[]): Record<string, unknown> {
  const labels = runtime.labels ?? {};
  return {
    created: FIXED_CREATED,
    architecture: "amd64",
    os: "linux",
    config: {
      User: runtime.user,
      Env: [...(runtime.env ?? [])],
      Entrypoint: [...runtime.entrypoint],
      ...(runtime.cmd && runtime.cmd.length > 0 ? { Cmd: [...runtime.cmd] } : {}),
      WorkingDir: runtime.workingDir ?? "/",
      ...(Object.keys(labels).length > 0 ? { Labels: sortKeys(labels) } : {}),
    },
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((l) => ({ created: FIXED_CREATED, created_by: l.comment })),
  };
}

/**
 * Builds the image manifest.
 *
 * @example Usage
 * ```ts
 * import { imageManifest } from "./oci.ts";
 * const manifest = imageManifest({ mediaType: "application/vnd.oci.image.config.v1+json", digest: "sha256:00", size: 2 }, []);
 * // manifest.schemaVersion === 2
 * ```
 *
 * @param config The config blob.
 * @param layers The layers, bottom first.
 * @returns The manifest document.
 */
export function imageManifest(config: Descriptor, layers: readonly Layer[]): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: MEDIA_TYPES.layer, digest: l.digest, size: l.size })),
  };
}

/**
 * Builds an OCI layout's `index.json` naming one manifest under a tag.
 *
 * @example Usage
 * ```ts
 * import { layoutIndex } from "./oci.ts";
 * layoutIndex({ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: "sha256:00", size: 2 }, "pause");
 * ```
 *
 * @param manifest The manifest blob.
 * @param tag The tag (`org.opencontainers.image.ref.name`).
 * @returns The index document.
 */
export function layoutIndex(manifest: Descriptor, tag: string): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.index,
    manifests: [{ ...manifest, annotations: { "org.opencontainers.image.ref.name": tag } }],
  };
}

function sortKeys(record: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0));
}
