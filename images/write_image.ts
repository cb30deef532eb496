/**
 * Writes a built image's files (catalog.ts lists them): the OCI layout, the docker-archive tarball (skopeo), the
 * SBOM and the record. An image whose inputs hash matches the record on disk is not written again.
 *
 * @module
 */
import { contentHash } from "../internal/content_hash.ts";
import { runCommand } from "../tests/cluster/run_command.ts";
import { imageFiles, type ImageRecord, imageReferences, type ImageSpec } from "./catalog.ts";
import type { CachedLayer } from "./layer.ts";
import { type Descriptor, imageConfig, imageManifest, layoutIndex, MEDIA_TYPES, type RuntimeConfig } from "./oci.ts";
import { spdxDocument } from "./sbom.ts";

/** The result of {@linkcode writeImage}. */
export interface WrittenImage {
  /** The record written beside the image. */
  record: ImageRecord;
  /** False when the files on disk were already those of these inputs. */
  written: boolean;
}

/**
 * Writes an image below `<cache>/images/<name>/`, replacing the previous one there.
 *
 * @param spec The image's names.
 * @param parts Its layers, bottom first, and its runtime config.
 * @param cache The cache root.
 * @returns The record.
 */
export async function writeImage(
  spec: ImageSpec,
  parts: { layers: readonly CachedLayer[]; runtime: RuntimeConfig },
  cache: string,
): Promise<WrittenImage> {
  const files = imageFiles(spec.name, cache);
  const configBytes = encode(imageConfig(parts.runtime, parts.layers));
  const config: Descriptor = {
    mediaType: MEDIA_TYPES.config,
    digest: contentHash(configBytes),
    size: configBytes.length,
  };
  const manifestBytes = encode(imageManifest(config, parts.layers));
  const digest = contentHash(manifestBytes);
  const inputsHash = contentHash(JSON.stringify({ spec, digest }));
  const previous = await Deno.readTextFile(files.record).then((t) => JSON.parse(t) as ImageRecord, () => undefined);
  if (
    previous?.inputsHash === inputsHash && await allExist([files.archive, files.sbom, `${files.ociLayout}/index.json`])
  ) {
    return { record: previous, written: false };
  }
  const record: ImageRecord = {
    ...spec,
    aliases: [...spec.aliases],
    digest,
    compressedBytes: parts.layers.reduce((n, l) => n + l.size, 0),
    uncompressedBytes: parts.layers.reduce((n, l) => n + l.uncompressedSize, 0),
    inputsHash,
  };
  await Deno.mkdir(`${cache}/images`, { recursive: true });
  const staging = await Deno.makeTempDir({ dir: `${cache}/images`, prefix: `.${spec.name}-` });
  await Deno.chmod(staging, 0o755);
  try {
    const blobs = `${staging}/oci/blobs/sha256`;
    await Deno.mkdir(blobs, { recursive: true });
    for (const layer of parts.layers) {
      // Hard links: the blobs stay in the layer cache once; the layout only names them.
      await Deno.link(layer.path, `${blobs}/${layer.digest.slice(7)}`).catch((e) => {
        if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      });
    }
    await Deno.writeFile(`${blobs}/${config.digest.slice(7)}`, configBytes);
    await Deno.writeFile(`${blobs}/${digest.slice(7)}`, manifestBytes);
    const manifest = { mediaType: MEDIA_TYPES.manifest, digest, size: manifestBytes.length };
    await Deno.writeFile(`${staging}/oci/index.json`, encode(layoutIndex(manifest, spec.name)));
    await Deno.writeTextFile(`${staging}/oci/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
    const [ref, ...aliases] = imageReferences(spec);
    await runCommand("skopeo", {
      args: [
        "copy",
        "--quiet",
        ...aliases.flatMap((a) => ["--additional-tag", a]),
        `oci:${staging}/oci:${spec.name}`,
        `docker-archive:${staging}/image.tar:${ref}`,
      ],
    });
    const packages = parts.layers.flatMap((l) => l.packages);
    await Deno.writeTextFile(
      `${staging}/sbom.spdx.json`,
      JSON.stringify(spdxDocument({ ref: spec.ref, digest }, packages), null, 2) + "\n",
    );
    await Deno.writeTextFile(`${staging}/image.json`, JSON.stringify(record, null, 2) + "\n");
    await replaceDir(staging, files.dir);
  } catch (e) {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    throw e;
  }
  return { record, written: true };
}

function encode(doc: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(doc));
}

async function allExist(paths: readonly string[]): Promise<boolean> {
  for (const p of paths) {
    try {
      await Deno.stat(p);
    } catch {
      return false;
    }
  }
  return true;
}

/** Swaps `from` in as `to`, so that readers never see a half-written image. */
async function replaceDir(from: string, to: string): Promise<void> {
  const old = `${from}.old`;
  await Deno.rename(to, old).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  await Deno.rename(from, to);
  await Deno.remove(old, { recursive: true }).catch(() => {});
}
