import { deepEqual, equal } from "node:assert/strict";
import { FIXED_CREATED, imageConfig, imageManifest, layoutIndex, MEDIA_TYPES } from "./oci.ts";

const layer = { digest: "sha256:aa", size: 10, diffId: "sha256:bb", uncompressedSize: 20, comment: "base" };

Deno.test("imageConfig() has a fixed creation time, the layers' diff IDs and sorted labels", () => {
  const config = imageConfig(
    { entrypoint: ["/deno"], cmd: ["operator"], user: "65532:65532", labels: { z: "1", a: "2" } },
    [layer],
  );
  equal(config.created, FIXED_CREATED);
  deepEqual(config.rootfs, { type: "layers", diff_ids: ["sha256:bb"] });
  deepEqual(config.history, [{ created: FIXED_CREATED, created_by: "base" }]);
  const runtime = config.config as Record<string, unknown>;
  deepEqual(runtime.Cmd, ["operator"]);
  deepEqual(Object.keys(runtime.Labels as object), ["a", "z"]);
  // equal settings, equal bytes: the digest depends on nothing else
  equal(
    JSON.stringify(imageConfig({ entrypoint: ["/deno"], user: "0:0" }, [layer])),
    JSON.stringify(imageConfig({ entrypoint: ["/deno"], user: "0:0" }, [{ ...layer }])),
  );
});

Deno.test("imageManifest() and layoutIndex() name the config, the gzip layers and the tag", () => {
  const config = { mediaType: MEDIA_TYPES.config, digest: "sha256:cc", size: 5 };
  const manifest = imageManifest(config, [layer]);
  deepEqual(manifest.layers, [{ mediaType: MEDIA_TYPES.layer, digest: "sha256:aa", size: 10 }]);
  deepEqual(manifest.config, config);
  const index = layoutIndex({ mediaType: MEDIA_TYPES.manifest, digest: "sha256:dd", size: 7 }, "pause");
  deepEqual((index.manifests as { annotations: unknown }[])[0].annotations, {
    "org.opencontainers.image.ref.name": "pause",
  });
});
