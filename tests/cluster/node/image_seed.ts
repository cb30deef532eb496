/**
 * The node's images, imported once: a containerd root holding every image archive, unpacked, kept in the cache
 * and keyed by the archives and the containerd binary. Each cluster starts from a hard-linked copy of it, which
 * takes about a second where importing the Lacquer images takes ten or more, and removing the copy frees no data.
 *
 * Only immutable files are shared: content blobs and the committed snapshots (image layers) are never written in
 * place; containerd's bolt databases, the only files it changes, are copied.
 *
 * @module
 */
import type { Logger } from "../../../internal/log.ts";
import { waitFor } from "../control_plane.ts";
import { runCommand } from "../run_command.ts";
import { spawnLogged } from "../spawn_logged.ts";
import { containerdArgs } from "./node_config.ts";

/** Options for {@linkcode imageSeed}. */
export interface ImageSeedOptions {
  /** The cache root; seeds live in `<cache>/node-seed/<key>/`. */
  cache: string;
  /** The `docker-archive` tarballs to import. */
  archives: readonly string[];
  /** containerd and ctr. */
  containerd: string;
  ctr: string;
  /** Renders a containerd config whose root, state and socket are below the given directory. */
  config(dir: string): { toml: string; root: string; socket: string };
  log: Logger;
}

async function seedKey(options: ImageSeedOptions): Promise<string> {
  const inputs = [];
  for (const path of [options.containerd, ...options.archives]) {
    const real = await Deno.realPath(path);
    const info = await Deno.stat(real);
    inputs.push([real, info.size, info.mtime?.getTime()]);
  }
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(inputs)));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("").slice(0, 16);
}

const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

/**
 * Returns the seed's containerd root for these archives, building it first when it is missing (one builder at a
 * time; others wait for it). Seeds of other inputs are removed once a new one is built.
 *
 * @param options Archives, binaries, config and cache.
 * @returns The seed root directory (do not write to it; copy it with {@linkcode copySeed}).
 */
export async function imageSeed(options: ImageSeedOptions): Promise<string> {
  const base = `${options.cache}/node-seed`;
  const key = await seedKey(options);
  const root = `${base}/${key}/root`;
  if (await exists(root)) return root;
  await Deno.mkdir(base, { recursive: true });
  const lock = `${base}/${key}.lock`;
  const deadline = performance.now() + 300_000;
  while (true) {
    try {
      (await Deno.open(lock, { createNew: true, write: true })).close();
      break;
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
    if (await exists(root)) return root;
    // a builder that died leaves its lock: after five minutes it is not building anymore
    const age = Date.now() - ((await Deno.stat(lock).catch(() => undefined))?.mtime?.getTime() ?? Date.now());
    if (age > 300_000) await Deno.remove(lock).catch(() => {});
    if (performance.now() > deadline) throw new Error(`Cannot get the node's images: ${lock} is held too long`);
    await new Promise((r) => setTimeout(r, 200));
  }
  try {
    if (await exists(root)) return root;
    await buildSeed(options, `${base}/${key}.build`, root);
    for await (const e of Deno.readDir(base)) {
      if (e.isDirectory && e.name !== key && /^[0-9a-f]{16}$/.test(e.name)) {
        await Deno.remove(`${base}/${e.name}`, { recursive: true }).catch(() => {});
      }
    }
    return root;
  } finally {
    await Deno.remove(lock).catch(() => {});
  }
}

async function buildSeed(options: ImageSeedOptions, dir: string, root: string): Promise<void> {
  const t0 = performance.now();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  const config = options.config(dir);
  await Deno.writeTextFile(`${dir}/config.toml`, config.toml);
  // containerd writes below /run: its own, private one
  const containerd = spawnLogged("unshare", {
    args: containerdArgs(options.containerd, `${dir}/config.toml`, ["/run"]),
    logFile: `${dir}/containerd.log`,
  });
  try {
    const ctr = (...args: string[]) =>
      runCommand(options.ctr, { args: ["--address", config.socket, "--namespace", "k8s.io", ...args] });
    await waitFor("containerd", async () => (await ctr("version"), true), 20_000, containerd);
    for (const archive of options.archives) await ctr("images", "import", "--local", archive);
  } finally {
    await containerd.stop(10_000);
  }
  await Deno.mkdir(root.replace(/\/root$/, ""), { recursive: true });
  await Deno.rename(config.root, root);
  await Deno.remove(dir, { recursive: true });
  options.log.info("Node images imported into a new seed", {
    durationMs: Math.round(performance.now() - t0),
    seed: root,
    archives: options.archives.length,
  });
}

/**
 * Makes `target` a copy of the seed: hard links for the immutable files, real copies of the databases.
 *
 * @param seed The seed root ({@linkcode imageSeed}).
 * @param target The containerd root to create (must not exist).
 */
export async function copySeed(seed: string, target: string): Promise<void> {
  await runCommand("cp", { args: ["-al", seed, target] });
  const dbs = await runCommand("find", { args: [target, "-type", "f", "-name", "*.db"] });
  for (const db of dbs.stdout.split("\n").filter(Boolean)) {
    await Deno.copyFile(db, `${db}.copy`);
    await Deno.rename(`${db}.copy`, db);
  }
}
