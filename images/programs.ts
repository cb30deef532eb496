/**
 * The programs of the images, built here and cached by their inputs: pause (from the Kubernetes module's C source),
 * echo-basic (from the Gateway API conformance module), the ghost VMOD (from this repository) and hitch (Debian's
 * source with Lacquer's patch, `images/hitch/`); CoreDNS is the one set-up builds. Go programs are static (CGO_ENABLED=0) and built with -trimpath, so the same module versions give
 * the same bytes.
 *
 * @module
 */
import { contentHash } from "../internal/content_hash.ts";
import { runCommand } from "../tests/cluster/run_command.ts";
import { THIRD_PARTY_VERSIONS } from "./catalog.ts";

/** The Kubernetes release whose pause.c is built (the one the local cluster runs). */
const KUBE_VERSION = "v1.36.3";

const GO_ENV = { CGO_ENABLED: "0", GOFLAGS: "-buildvcs=false", GOTOOLCHAIN: "local", GOMAXPROCS: "2" };

/** A built program. */
export interface Program {
  /** The executable. */
  path: string;
  /** Go's embedded build information (`go version -m`), for the SBOM; empty for C and Rust. */
  buildInfo: string;
}

async function cachedBuild(
  dir: string,
  inputs: readonly string[],
  build: (out: string) => Promise<void>,
): Promise<string> {
  const out = `${dir}/${contentHash(inputs.join("\n")).slice(7, 23)}`;
  try {
    await Deno.stat(`${out}/done`);
    return out;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  await Deno.remove(out, { recursive: true }).catch(() => {});
  await Deno.mkdir(out, { recursive: true });
  await build(out);
  await Deno.writeTextFile(`${out}/done`, "");
  return out;
}

async function goBuildInfo(binary: string): Promise<string> {
  return (await runCommand("go", { args: ["version", "-m", binary] })).stdout;
}

async function goVersion(): Promise<string> {
  return (await runCommand("go", { args: ["env", "GOVERSION"] })).stdout.trim();
}

/**
 * Builds the pause program statically with the flags of Kubernetes' own Makefile.
 *
 * @param cache The cache root.
 * @returns The program.
 */
export async function buildPause(cache: string): Promise<Program> {
  const modDir = (await runCommand("go", { args: ["env", "GOMODCACHE"] })).stdout.trim();
  let source = `${modDir}/k8s.io/kubernetes@${KUBE_VERSION}/build/pause/linux/pause.c`;
  try {
    await Deno.stat(source);
  } catch {
    const dir = (await runCommand("go", {
      args: ["mod", "download", "-json", `k8s.io/kubernetes@${KUBE_VERSION}`],
      cwd: Deno.makeTempDirSync(),
    })).stdout;
    source = `${JSON.parse(dir).Dir}/build/pause/linux/pause.c`;
  }
  const gcc = (await runCommand("gcc", { args: ["--version"] })).stdout.split("\n")[0];
  const dir = await cachedBuild(
    `${cache}/images/programs/pause`,
    [await Deno.readTextFile(source), gcc],
    (out) =>
      runCommand("gcc", {
        args: [
          "-Os",
          "-Wall",
          "-Werror",
          "-static",
          `-DVERSION=v${THIRD_PARTY_VERSIONS.pause}`,
          "-s",
          "-o",
          `${out}/pause`,
          source,
        ],
      }).then(() => {}),
  );
  return { path: `${dir}/pause`, buildInfo: "" };
}

/**
 * Builds echo-basic statically from the Gateway API module set-up already resolved (scripts/kube/build.sh).
 *
 * @param cache The cache root.
 * @returns The program.
 */
export async function buildEchoBasic(cache: string): Promise<Program> {
  const src = `${cache}/gateway-api/${THIRD_PARTY_VERSIONS.gatewayApi}/src`;
  const goSum = await Deno.readTextFile(`${src}/go.sum`).catch(() => {
    throw new Error(`Cannot build echo-basic: no ${src}/go.sum; run \`bash scripts/setup.sh kubernetes\` first`);
  });
  const dir = await cachedBuild(
    `${cache}/images/programs/echo-basic`,
    [goSum, await goVersion()],
    (out) =>
      runCommand("go", {
        args: [
          "build",
          "-p",
          "2",
          "-trimpath",
          "-ldflags",
          "-s -w",
          "-o",
          `${out}/echo-basic`,
          "sigs.k8s.io/gateway-api/conformance/echo-basic",
        ],
        cwd: src,
        env: GO_ENV,
      }).then(() => {}),
  );
  return { path: `${dir}/echo-basic`, buildInfo: await goBuildInfo(`${dir}/echo-basic`) };
}

/**
 * Returns the static CoreDNS set-up builds from the Go module proxy with the plugins the clusters use
 * (scripts/kube/build.sh links it as `<cache>/bin/coredns`).
 *
 * @param cache The cache root.
 * @returns The program.
 */
export async function buildCoreDns(cache: string): Promise<Program> {
  const link = `${cache}/bin/coredns`;
  const path = await Deno.realPath(link).catch(() => {
    throw new Error(`Cannot build the coredns image: no ${link}; run \`bash scripts/setup.sh kubernetes\` first`);
  });
  return { path, buildInfo: await goBuildInfo(path) };
}

/**
 * Builds the ghost VMOD from this repository with `ghost/scripts/cargo.sh build --release` (into `$CARGO_TARGET_DIR`,
 * by default `<cache>/ghost-target`; cargo rebuilds only what changed).
 *
 * @param repo The repository root.
 * @param cache The cache root.
 * @returns The shared object.
 */
export async function buildGhostVmod(repo: string, cache: string): Promise<Program> {
  await runCommand("bash", { args: [`${repo}/ghost/scripts/cargo.sh`, "build", "--release", "-p", "vmod_ghost"] });
  const target = Deno.env.get("CARGO_TARGET_DIR") || `${cache}/ghost-target`;
  return { path: `${target}/release/libvmod_ghost.so`, buildInfo: "" };
}

/** The socket keeper's two files (`ghost/keeper`, `ghost/keeper-preload`). */
export interface SocketKeeper {
  /** The program the gateway pod's sidecar runs. */
  program: string;
  /** The shim the chaperone preloads into varnishd. */
  preload: string;
}

/**
 * Builds the socket keeper like the VMOD (`ghost/scripts/cargo.sh build --release`, into the same target directory).
 *
 * @param repo The repository root.
 * @param cache The cache root.
 * @returns The program and the shim.
 */
export async function buildSocketKeeper(repo: string, cache: string): Promise<SocketKeeper> {
  await runCommand("bash", {
    args: [`${repo}/ghost/scripts/cargo.sh`, "build", "--release", "-p", "lacquer-keeper", "-p", "keeper-preload"],
  });
  const target = Deno.env.get("CARGO_TARGET_DIR") || `${cache}/ghost-target`;
  return { program: `${target}/release/lacquer-keeper`, preload: `${target}/release/libkeeper_preload.so` };
}

/**
 * Builds hitch 1.7.2 from Debian's source with Lacquer's patch (`images/hitch/build.sh`, cached below
 * `<cache>/hitch/`): the gateway image's hitch, which also knows `client-verify = optional-no-ca`.
 *
 * @param repo The repository root.
 * @param cache The cache root.
 * @returns The program.
 */
export async function buildHitch(repo: string, cache: string): Promise<Program> {
  const { stdout } = await runCommand("bash", {
    args: [`${repo}/images/hitch/build.sh`],
    env: { LACQUER_CACHE: cache },
  });
  return { path: stdout.trim(), buildInfo: "" };
}
