/**
 * What each image is made of: its layers, bottom first, and how it runs. Layers are ordered by how often their inputs
 * change (Debian packages, then the Deno runtime, the npm packages of deno.lock, the ghost VMOD, and Lacquer's own
 * sources on top), so a code change rebuilds only the thin top layer. The operator and the gateway share the Deno,
 * npm and program layers byte for byte, so a registry or a node stores them once.
 *
 * @module
 */
import { KEEPER_PRELOAD_PATH } from "../chaperone/socket_keeper.ts";
import { contentHash } from "../internal/content_hash.ts";
import { KEEPER_PROGRAM } from "../internal/names.ts";
import { runCommand } from "../tests/cluster/run_command.ts";
import { IMAGE_VERSION, type ImageName, THIRD_PARTY_VERSIONS } from "./catalog.ts";
import {
  buildDistrolessRootfs,
  buildGatewayRootfs,
  DISTROLESS_ROOTFS_RECIPE,
  GATEWAY_ROOTFS_RECIPE,
  NONROOT_UID,
  readDebLock,
} from "./debian.ts";
import { emitTranspileCache } from "./emit_cache.ts";
import { type CachedLayer, cachedLayer } from "./layer.ts";
import type { RuntimeConfig } from "./oci.ts";
import {
  buildCoreDns,
  buildEchoBasic,
  buildGhostVmod,
  buildHitch,
  buildPause,
  buildSocketKeeper,
  type Program,
} from "./programs.ts";
import { cratesFromCargoLock, goModulesFromBuildInfo, npmPackagesFromDenoLock, type SbomPackage } from "./sbom.ts";

/** Bump when a recipe changes in a way its inputs do not show, so that cached layers are rebuilt. */
const RECIPE_VERSION = "1";

/** The version the SBOM gives the gateway image's hitch: Debian's 1.7.2 with Lacquer's patch. */
const HITCH_VERSION = "1.7.2+lacquer.optional-no-ca";

/** Where the program lives in the Lacquer images. */
export const APP_DIR = "/opt/lacquer/app";
/** The prepared DENO_DIR (npm packages, and the program's transpile cache `gen`; read-only at run time). */
export const DENO_DIR = "/opt/lacquer/deno-dir";
/** Debian's VMOD directory, where varnishd finds `import ghost;` without a vmod_path. */
export const VMOD_DIR = "/usr/lib/x86_64-linux-gnu/varnish/vmods";
/** The gateway's writable state: the chaperone's work dir, on an emptyDir the operator mounts. */
export const GATEWAY_STATE_DIR = "/var/run/lacquer";

/** What a build needs to know. */
export interface BuildContext {
  /** The repository root. */
  repo: string;
  /** The cache root. */
  cache: string;
  /** Take the Debian archive's current versions and rewrite the lockfiles. */
  updateLock: boolean;
}

/** An image's parts. */
export interface Recipe {
  /** The layers, bottom first. */
  layers: CachedLayer[];
  /** How it runs. */
  runtime: RuntimeConfig;
}

/** The recipe of every image, by name. */
export const RECIPES: Readonly<Record<ImageName, (ctx: BuildContext) => Promise<Recipe>>> = {
  "lacquer-gateway": gatewayRecipe,
  "lacquer-operator": operatorRecipe,
  pause: pauseRecipe,
  "echo-basic": echoBasicRecipe,
  coredns: coreDnsRecipe,
};

const layerDir = (ctx: BuildContext) => `${ctx.cache}/images/layers`;

function denoEntrypoint(): string[] {
  return ["/usr/local/bin/deno", "run", "--allow-all", "--cached-only", "--frozen", `${APP_DIR}/mod.ts`];
}

function lacquerEnv(): string[] {
  return [
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    `DENO_DIR=${DENO_DIR}`,
    "DENO_NO_UPDATE_CHECK=1",
    "DENO_NO_PROMPT=1",
    "HOME=/home/nonroot",
  ];
}

function labels(title: string): Record<string, string> {
  return {
    "org.opencontainers.image.title": title,
    "org.opencontainers.image.version": IMAGE_VERSION,
    "org.opencontainers.image.licenses": "Apache-2.0",
  };
}

/**
 * Builds (or finds cached) the two Debian base layers, the slow part of a cold build that needs only the network and
 * the disk: set-up starts it in the background while it compiles (step `image-bases`).
 *
 * @example Usage
 * ```ts ignore
 * import { buildBaseLayers } from "./recipes.ts";
 * await buildBaseLayers({ repo: "/src/lacquer", cache: "/root/.cache/lacquer", updateLock: false });
 * ```
 *
 * @param ctx The repository and the cache.
 * @returns The gateway's and the operator's base layer.
 */
export async function buildBaseLayers(ctx: BuildContext): Promise<CachedLayer[]> {
  return [await gatewayBase(ctx), await operatorBase(ctx)];
}

async function gatewayBase(ctx: BuildContext): Promise<CachedLayer> {
  const lock = await readDebLock(`${ctx.repo}/images/gateway.debs.lock`);
  return await cachedLayer({
    dir: layerDir(ctx),
    inputs: ["gateway-rootfs", RECIPE_VERSION, GATEWAY_ROOTFS_RECIPE, ...lock.pins],
    comment: "Debian bookworm: Varnish, varnish-modules, hitch, gcc for VCL",
    produce: async (root) => ({ packages: await buildGatewayRootfs(root, { lock, updateLock: ctx.updateLock }) }),
  });
}

async function operatorBase(ctx: BuildContext): Promise<CachedLayer> {
  const lock = await readDebLock(`${ctx.repo}/images/operator.debs.lock`);
  return await cachedLayer({
    dir: layerDir(ctx),
    inputs: ["distroless", RECIPE_VERSION, DISTROLESS_ROOTFS_RECIPE, ...lock.pins],
    comment: "distroless: libc, libgcc, CA certificates, tzdata, netbase, nonroot user",
    produce: async (root) => ({ packages: await buildDistrolessRootfs(root, { lock, updateLock: ctx.updateLock }) }),
  });
}

async function gatewayRecipe(ctx: BuildContext): Promise<Recipe> {
  const base = await gatewayBase(ctx);
  const hitch = await buildHitch(ctx.repo, ctx.cache);
  const patchedHitch = await cachedLayer({
    dir: layerDir(ctx),
    inputs: ["hitch", RECIPE_VERSION, await fileHash(hitch.path)],
    comment: "hitch 1.7.2 with Lacquer's optional-no-ca patch (images/hitch/), over Debian's",
    produce: async (root) => {
      await install(hitch.path, `${root}/usr/sbin/hitch`, 0o755);
      return { packages: [{ type: "generic", name: "hitch", version: HITCH_VERSION }] };
    },
  });
  const ghost = await buildGhostVmod(ctx.repo, ctx.cache);
  const crates = cratesFromCargoLock(await Deno.readTextFile(`${ctx.repo}/ghost/Cargo.lock`));
  const vmod = await cachedLayer({
    dir: layerDir(ctx),
    inputs: ["ghost-vmod", RECIPE_VERSION, await fileHash(ghost.path)],
    comment: "the ghost VMOD",
    produce: async (root) => {
      await install(ghost.path, `${root}${VMOD_DIR}/libvmod_ghost.so`, 0o644);
      return { packages: crates };
    },
  });
  const keeperFiles = await buildSocketKeeper(ctx.repo, ctx.cache);
  const keeper = await cachedLayer({
    dir: layerDir(ctx),
    inputs: ["socket-keeper", RECIPE_VERSION, await fileHash(keeperFiles.program), await fileHash(keeperFiles.preload)],
    comment: "the socket keeper and its varnishd shim",
    produce: async (root) => {
      // The paths the operator (internal/names.ts) and the chaperone (chaperone/socket_keeper.ts) name.
      await install(keeperFiles.program, `${root}${KEEPER_PROGRAM}`, 0o755);
      await install(keeperFiles.preload, `${root}${KEEPER_PRELOAD_PATH}`, 0o644);
      return { packages: [] };
    },
  });
  return {
    layers: [base, patchedHitch, await denoLayer(ctx), await npmLayer(ctx), vmod, keeper, await appLayer(ctx)],
    runtime: {
      entrypoint: denoEntrypoint(),
      cmd: ["chaperone"],
      user: `${NONROOT_UID}:${NONROOT_UID}`,
      // gcc, which varnishd runs to compile VCL, writes its temporary files to TMPDIR: the writable state dir.
      env: [...lacquerEnv(), `TMPDIR=${GATEWAY_STATE_DIR}`],
      workingDir: GATEWAY_STATE_DIR,
      labels: labels("lacquer-gateway"),
    },
  };
}

async function operatorRecipe(ctx: BuildContext): Promise<Recipe> {
  const base = await operatorBase(ctx);
  return {
    layers: [base, await denoLayer(ctx), await npmLayer(ctx), await appLayer(ctx)],
    runtime: {
      entrypoint: denoEntrypoint(),
      cmd: ["operator"],
      user: `${NONROOT_UID}:${NONROOT_UID}`,
      env: lacquerEnv(),
      labels: labels("lacquer-operator"),
    },
  };
}

async function denoLayer(ctx: BuildContext): Promise<CachedLayer> {
  const deno = await Deno.realPath(Deno.execPath());
  return await cachedLayer({
    dir: layerDir(ctx),
    inputs: ["deno", RECIPE_VERSION, await fileHash(deno)],
    comment: `Deno ${Deno.version.deno}`,
    produce: async (root) => {
      await install(deno, `${root}/usr/local/bin/deno`, 0o755);
      return { packages: [{ type: "generic", name: "deno", version: Deno.version.deno }] };
    },
  });
}

async function npmLayer(ctx: BuildContext): Promise<CachedLayer> {
  const lockText = await Deno.readTextFile(`${ctx.repo}/deno.lock`);
  const configText = await Deno.readTextFile(`${ctx.repo}/deno.json`);
  return await cachedLayer({
    dir: layerDir(ctx),
    inputs: ["npm", RECIPE_VERSION, Deno.version.deno, lockText, configText],
    comment: "npm packages of deno.lock (DENO_DIR)",
    produce: async (root) => {
      const denoDir = `${root}${DENO_DIR}`;
      await runCommand(Deno.execPath(), {
        args: ["install", "--frozen", "--quiet"],
        cwd: ctx.repo,
        env: { DENO_DIR: denoDir, DENO_NO_UPDATE_CHECK: "1" },
      });
      // Keep the packages only: the SQLite caches differ from run to run (Deno falls back to memory when DENO_DIR is
      // read-only), and registry.json is the registry's changing metadata, not needed with a lockfile.
      for (const entry of Deno.readDirSync(denoDir)) {
        if (entry.name !== "npm") await Deno.remove(`${denoDir}/${entry.name}`, { recursive: true });
      }
      // Source maps, type declarations and READMEs serve editors and type checks, never `deno run`.
      await runCommand("find", {
        args: [
          `${denoDir}/npm`,
          "-type",
          "f",
          "(",
          ...["registry.json", "*.map", "*.d.ts", "*.d.mts", "*.d.cts", "*.md"]
            .flatMap((n, i) => [...(i > 0 ? ["-o"] : []), "-name", n]),
          ")",
          "-delete",
        ],
      });
      return { packages: npmPackagesFromDenoLock(lockText) };
    },
  });
}

/** The program's files: every local module `mod.ts` imports (text imports such as the VCL templates included). */
async function appFiles(repo: string): Promise<string[]> {
  const info = JSON.parse(
    (await runCommand(Deno.execPath(), { args: ["info", "--json", "mod.ts"], cwd: repo })).stdout,
  ) as { modules: { specifier: string }[] };
  const prefix = new URL(`file://${repo}/`).href;
  const modules = info.modules.map((m) => m.specifier).filter((s) => s.startsWith(prefix))
    .map((s) => decodeURIComponent(s.slice(prefix.length)));
  return [...new Set([...modules, "deno.json", "deno.lock"])].sort();
}

async function appLayer(ctx: BuildContext): Promise<CachedLayer> {
  const files = await appFiles(ctx.repo);
  const hashes = await Promise.all(files.map(async (f) => `${f} ${await fileHash(`${ctx.repo}/${f}`)}`));
  return await cachedLayer({
    dir: layerDir(ctx),
    inputs: ["app", RECIPE_VERSION, Deno.version.deno, ...hashes],
    comment: `lacquer ${IMAGE_VERSION} (${files.length} files, transpiled)`,
    produce: async (root) => {
      for (const f of files) await install(`${ctx.repo}/${f}`, `${root}${APP_DIR}/${f}`, 0o644);
      await Deno.mkdir(`${root}${DENO_DIR}`, { recursive: true });
      await emitTranspileCache(`${root}${APP_DIR}`, APP_DIR, `${root}${DENO_DIR}/gen`);
      return { packages: [{ type: "generic", name: "lacquer", version: IMAGE_VERSION }] };
    },
  });
}

async function singleBinary(
  ctx: BuildContext,
  name: string,
  program: Program,
  extra: SbomPackage[] = [],
): Promise<CachedLayer> {
  return await cachedLayer({
    dir: layerDir(ctx),
    inputs: [name, RECIPE_VERSION, await fileHash(program.path)],
    comment: name,
    produce: async (root) => {
      await install(program.path, `${root}/${name}`, 0o755);
      return { packages: [...goModulesFromBuildInfo(program.buildInfo), ...extra] };
    },
  });
}

async function pauseRecipe(ctx: BuildContext): Promise<Recipe> {
  const layer = await singleBinary(ctx, "pause", await buildPause(ctx.cache), [
    { type: "generic", name: "pause", version: THIRD_PARTY_VERSIONS.pause },
  ]);
  return { layers: [layer], runtime: { entrypoint: ["/pause"], user: "65535:65535" } };
}

async function echoBasicRecipe(ctx: BuildContext): Promise<Recipe> {
  const layer = await singleBinary(ctx, "echo-basic", await buildEchoBasic(ctx.cache));
  return { layers: [layer], runtime: { entrypoint: ["/echo-basic"], user: "65534:65534" } };
}

async function coreDnsRecipe(ctx: BuildContext): Promise<Recipe> {
  const layer = await singleBinary(ctx, "coredns", await buildCoreDns(ctx.cache));
  // Root, as upstream's image: the conformance manifests bind port 53 with NET_BIND_SERVICE.
  return { layers: [layer], runtime: { entrypoint: ["/coredns"], user: "0:0" } };
}

async function install(from: string, to: string, mode: number): Promise<void> {
  await Deno.mkdir(to.slice(0, to.lastIndexOf("/")), { recursive: true });
  await Deno.copyFile(from, to);
  await Deno.chmod(to, mode);
}

async function fileHash(path: string): Promise<string> {
  return contentHash(await Deno.readFile(path));
}
