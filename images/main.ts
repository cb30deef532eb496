/**
 * `deno task images [--update-lock] [name...]`: builds the images (all of them, or the ones named) below
 * `<cache>/images/` and prints their names, digests and sizes. See images/README.md.
 *
 * @module
 */
import { lacquerCacheDir } from "../tests/cluster/layout.ts";
import { type ImageName, IMAGES } from "./catalog.ts";
import { buildImages } from "./build_images.ts";

if (import.meta.main) {
  const args = [...Deno.args];
  const updateLock = args.includes("--update-lock");
  const names = args.filter((a) => a !== "--update-lock");
  const unknown = names.filter((n) => !(n in IMAGES));
  if (unknown.length > 0) {
    console.error(`Cannot build images ${JSON.stringify(unknown)}: known are ${Object.keys(IMAGES).join(", ")}`);
    Deno.exit(2);
  }
  const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  await buildImages({
    repo,
    cache: lacquerCacheDir(Deno.env),
    updateLock,
    names: names.length > 0 ? names as ImageName[] : undefined,
    log: (line) => console.error(line),
  });
}
