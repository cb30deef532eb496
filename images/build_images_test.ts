import { deepEqual, equal, notEqual, ok } from "node:assert/strict";
import { lacquerCacheDir } from "../tests/cluster/layout.ts";
import { selfSignedCertificate } from "../tests/cluster/pki_writer.ts";
import { runCommand } from "../tests/cluster/run_command.ts";
import { buildImages } from "./build_images.ts";
import { imageFiles, type ImageName, imageReferences, IMAGES } from "./catalog.ts";
import { KEEPER_PRELOAD_PATH } from "../chaperone/socket_keeper.ts";
import { KEEPER_PROGRAM } from "../internal/names.ts";
import { APP_DIR, DENO_DIR, GATEWAY_STATE_DIR } from "./recipes.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const CACHE = lacquerCacheDir(Deno.env);

/** A cache root of its own whose layer and program caches are the shared ones, so that only the image is new. */
async function scratchCache(shareLayers: boolean): Promise<string & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "lacquer-images-test-" });
  await Deno.mkdir(`${dir}/images`);
  if (shareLayers) {
    for (const sub of ["layers", "programs"]) {
      await Deno.mkdir(`${CACHE}/images/${sub}`, { recursive: true });
      await Deno.symlink(`${CACHE}/images/${sub}`, `${dir}/images/${sub}`);
    }
  }
  return Object.assign(dir, { [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) }) as
    & string
    & AsyncDisposable;
}

async function manifestLayers(name: ImageName, cache: string): Promise<string[]> {
  const layout = imageFiles(name, cache).ociLayout;
  const index = JSON.parse(await Deno.readTextFile(`${layout}/index.json`));
  const manifest = JSON.parse(await Deno.readTextFile(`${layout}/blobs/sha256/${index.manifests[0].digest.slice(7)}`));
  return manifest.layers.map((l: { digest: string }) => l.digest);
}

/** Unpacks an image's layers, bottom first, into a folder: the root filesystem a container starts from. */
async function unpack(name: ImageName, root: string): Promise<void> {
  const layout = imageFiles(name, CACHE).ociLayout;
  // A runtime makes the root 0755 (temporary folders are 0700, which user 65532 could not enter).
  await Deno.chmod(root, 0o755);
  for (const digest of await manifestLayers(name, CACHE)) {
    await runCommand("tar", {
      args: ["-xzf", `${layout}/blobs/sha256/${digest.slice(7)}`, "-C", root, "--numeric-owner"],
    });
  }
}

/**
 * Runs a command in an unpacked image as the image's user 65532, with the root filesystem read-only and only
 * `writable` (a tmpfs) writable, as in a pod with readOnlyRootFilesystem and an emptyDir.
 */
async function runInImage(root: string, writable: string | undefined, argv: string[]): Promise<string> {
  const script = [
    "set -e",
    `R="$1"; shift`,
    // The writable folder as the image resolves it (/var/run is a link to /run), so no link leads out of the tree.
    `W="$R$(chroot "$R" readlink -m ${writable ?? "/tmp"})"`,
    `mkdir -p "$R/dev" "$R/proc" "$W"`,
    // Read-only first: a bind mount of the root does not carry the mounts below it.
    `mount --bind "$R" "$R" && mount -o remount,bind,ro "$R"`,
    `mount --rbind /dev "$R/dev"`,
    `mount -t proc proc "$R/proc"`,
    ...(writable ? [`mount -t tmpfs -o uid=65532,gid=65532 tmpfs "$W"`] : []),
    `exec chroot --userspec=65532:65532 "$R" env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin ` +
    `DENO_DIR=${DENO_DIR} DENO_NO_UPDATE_CHECK=1 HOME=/home/nonroot TMPDIR=${writable ?? "/tmp"} "$@"`,
  ].join("\n");
  const { stdout, stderr } = await runCommand("unshare", {
    args: ["--mount", "--propagation", "private", "sh", "-c", script, "sh", root, ...argv],
  });
  return stdout + stderr;
}

const deno = (
  ...args: string[]
) => ["/usr/local/bin/deno", "run", "--allow-all", "--cached-only", "--frozen", `${APP_DIR}/mod.ts`, ...args];

Deno.test("buildImages() gives the same digest, archive and SBOM from the same inputs in two empty caches", async () => {
  await using one = await scratchCache(false);
  await using two = await scratchCache(false);
  const [a] = await buildImages({ repo: REPO, cache: `${one}`, updateLock: false, names: ["pause"] });
  const [b] = await buildImages({ repo: REPO, cache: `${two}`, updateLock: false, names: ["pause"] });
  equal(a.digest, b.digest);
  const files = [imageFiles("pause", `${one}`), imageFiles("pause", `${two}`)];
  deepEqual(await Deno.readFile(files[0].archive), await Deno.readFile(files[1].archive));
  equal(await Deno.readTextFile(files[0].sbom), await Deno.readTextFile(files[1].sbom));
});

Deno.test("the echo-basic archive carries every name the conformance manifests use, for ctr and docker to import", async () => {
  await buildImages({ repo: REPO, cache: CACHE, updateLock: false, names: ["echo-basic"] });
  const { stdout } = await runCommand("tar", {
    args: ["-xOf", imageFiles("echo-basic", CACHE).archive, "manifest.json"],
  });
  const [entry] = JSON.parse(stdout) as { RepoTags: string[]; Layers: string[] }[];
  deepEqual(entry.RepoTags.sort(), imageReferences(IMAGES["echo-basic"]).sort());
  ok(entry.RepoTags.includes("registry.k8s.io/gateway-api/echo-basic:v1.6.0-dev.2"));
  equal(entry.Layers.length, 1);
});

Deno.test("buildImages() rebuilds only the top layer of the operator image when a source file changes", async () => {
  await using cache = await scratchCache(true);
  const copy = `${cache}/repo`;
  const { stdout } = await runCommand("git", { args: ["ls-files", "-z"], cwd: REPO });
  for (const f of stdout.split("\0").filter((f) => f !== "" && !f.startsWith("tests/conformance/"))) {
    await Deno.mkdir(`${copy}/${f}`.replace(/\/[^/]*$/, ""), { recursive: true });
    await Deno.copyFile(`${REPO}/${f}`, `${copy}/${f}`).catch(() => {});
  }
  const [before] = await buildImages({ repo: copy, cache: `${cache}`, updateLock: false, names: ["lacquer-operator"] });
  const layersBefore = await manifestLayers("lacquer-operator", `${cache}`);
  await Deno.writeTextFile(`${copy}/cli.ts`, "\n// a change\n", { append: true });
  const [after] = await buildImages({ repo: copy, cache: `${cache}`, updateLock: false, names: ["lacquer-operator"] });
  const layersAfter = await manifestLayers("lacquer-operator", `${cache}`);
  notEqual(before.digest, after.digest);
  deepEqual(layersAfter.slice(0, -1), layersBefore.slice(0, -1));
  notEqual(layersAfter.at(-1), layersBefore.at(-1));
});

Deno.test("the operator image runs lacquer as user 65532 on a read-only root, with no shell or package manager", async () => {
  const [record] = await buildImages({ repo: REPO, cache: CACHE, updateLock: false, names: ["lacquer-operator"] });
  const root = await Deno.makeTempDir({ prefix: "lacquer-operator-root-" });
  try {
    await unpack("lacquer-operator", root);
    for (const absent of ["bin/sh", "usr/bin/dpkg", "usr/bin/apt", "bin/bash", "usr/bin/env"]) {
      equal(await Deno.lstat(`${root}/${absent}`).then(() => true, () => false), false, `/${absent} exists`);
    }
    ok((await Deno.readTextFile(`${root}/etc/passwd`)).includes("nonroot:x:65532:65532:"));
    ok((await Deno.stat(`${root}/etc/ssl/certs/ca-certificates.crt`)).size > 100_000);
    ok((await Deno.stat(`${root}/usr/share/zoneinfo/Europe/Berlin`)).isFile);
    // No shell in the image: chroot runs deno directly, as the image's entrypoint does.
    const script = [
      "set -e",
      `R="$1"; shift`,
      `mkdir -p "$R/dev" "$R/proc"`,
      `mount --bind "$R" "$R" && mount -o remount,bind,ro "$R"`,
      `mount --rbind /dev "$R/dev" && mount -t proc proc "$R/proc"`,
      `exec chroot --userspec=65532:65532 "$R" "$@"`,
    ].join("\n");
    const env = { DENO_DIR, DENO_NO_UPDATE_CHECK: "1", HOME: "/home/nonroot" };
    const { stdout } = await runCommand("unshare", {
      args: ["--mount", "--propagation", "private", "sh", "-c", script, "sh", root, ...deno("version")],
      env,
    });
    equal(stdout.trim(), record.ref.split(":").at(-1));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the gateway image compiles VCL that imports ghost, runs the patched hitch and carries the socket keeper, as user 65532 on a read-only root", async () => {
  await buildImages({ repo: REPO, cache: CACHE, updateLock: false, names: ["lacquer-gateway"] });
  const root = await Deno.makeTempDir({ prefix: "lacquer-gateway-root-" });
  try {
    await unpack("lacquer-gateway", root);
    await Deno.writeTextFile(
      `${root}/opt/test.vcl`,
      'vcl 4.1;\nimport ghost;\nimport std;\nimport xkey;\nbackend default none;\nsub vcl_init { new router = ghost.router("/var/run/lacquer/ghost.json"); }\n',
    );
    // The setting only the patched hitch (images/hitch/) knows: Debian's refuses the file with a syntax error.
    const server = await selfSignedCertificate(root, "opt/server", ["a.example.com"]);
    await Deno.writeTextFile(`${root}/opt/server.pem`, server.key + server.cert, { mode: 0o644 });
    await Deno.writeTextFile(
      `${root}/opt/hitch.conf`,
      'frontend = "[127.0.0.1]:9443"\nbackend = "[127.0.0.1]:9080"\nclient-verify = optional-no-ca\n' +
        'client-verify-ca = "/opt/server.crt"\npem-file = "/opt/server.pem"\n',
    );
    const out = await runInImage(root, GATEWAY_STATE_DIR, [
      "sh",
      "-c",
      `varnishd -C -n ${GATEWAY_STATE_DIR}/n -f /opt/test.vcl >/dev/null && echo compiled; hitch --version; ` +
      "hitch --test --config=/opt/hitch.conf >/dev/null 2>&1 && echo optional-no-ca; id -u; " +
      // The shim loads into varnishd (the loader would say it "cannot be preloaded" otherwise), the keeper runs.
      `LD_PRELOAD=${KEEPER_PRELOAD_PATH} varnishd -V 2>&1 | grep -q preloaded || echo preloaded; ` +
      `${KEEPER_PROGRAM} 2>&1 | head -1`,
    ]);
    ok(out.includes("preloaded"), out);
    ok(out.includes("usage: lacquer-keeper"), out);
    ok(out.includes("compiled"), out);
    ok(/hitch 1\.7/.test(out), out);
    ok(out.includes("optional-no-ca"), out);
    ok(out.includes("65532"), out);
    const version = await runInImage(root, GATEWAY_STATE_DIR, deno("version"));
    ok(/^\d+\.\d+\.\d+/.test(version.trim()), version);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
