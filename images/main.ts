/**
 * `deno task images [--update-lock] [--bases | name...]`: builds the images (all of them, or the ones named) below
 * `<cache>/images/` and prints their names, digests and sizes. `--bases` builds only the two Debian base layers (set-up
 * runs that in the background while it compiles). See images/README.md.
 *
 * @module
 */
import { lacquerCacheDir } from "../tests/cluster/layout.ts";
import { type ImageName, IMAGES } from "./catalog.ts";
import { buildImages } from "./build_images.ts";
import { buildBaseLayers } from "./recipes.ts";

if (import.meta.main) {
  const args = [...Deno.args];
  const updateLock = args.includes("--update-lock");
  const basesOnly = args.includes("--bases");
  const names = args.filter((a) => a !== "--update-lock" && a !== "--bases");
  const unknown = names.filter((n) => !(n in IMAGES));
  if (unknown.length > 0) {
    console.error(`Cannot build images ${JSON.stringify(unknown)}: known are ${Object.keys(IMAGES).join(", ")}`);
    Deno.exit(2);
  }
  const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  if (basesOnly) {
    const started = performance.now();
    await buildBaseLayers({ repo, cache: lacquerCacheDir(Deno.env), updateLock });
    console.error(`[images] Debian base layers ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    Deno.exit(0);
  }
  await buildImages({
    repo,
    cache: lacquerCacheDir(Deno.env),
    updateLock,
    names: names.length > 0 ? names as ImageName[] : undefined,
    log: (line) => console.error(line),
  });
}
