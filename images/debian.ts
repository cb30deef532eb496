/**
 * The Debian base layers, from pinned bookworm packages: the gateway's root filesystem (mmdebstrap: the Essential
 * set plus Varnish, varnish-modules and hitch) and the operator's distroless one (only the files of a few packages,
 * unpacked with `dpkg-deb -x`: no shell, no package manager).
 *
 * Versions are pinned in lockfiles beside this module (`<profile>.debs.lock`, one `name=version` a line): a build
 * installs exactly those and fails, naming the difference, when the archive no longer has them. `deno task images
 * --update-lock` takes the archive's current versions and rewrites the lockfiles (which changes the images).
 *
 * @module
 */
import { LACQUER_UID } from "../internal/names.ts";
import { runCommand } from "../tests/cluster/run_command.ts";
import { debPackagesFromDpkgQuery, type SbomPackage } from "./sbom.ts";

/** The bookworm archives the images are built from. */
const SOURCES = [
  "deb http://deb.debian.org/debian bookworm main",
  "deb http://deb.debian.org/debian bookworm-updates main",
  "deb http://deb.debian.org/debian-security bookworm-security main",
];

/** The non-root user both images run as (distroless's `nonroot`). */
export const NONROOT_UID = LACQUER_UID;

/** What the gateway needs beyond the Essential set; gcc and libc6-dev come with varnish, which compiles VCL to C. */
export const GATEWAY_PACKAGES: readonly string[] = [
  "varnish",
  "varnish-modules",
  "hitch",
  "ca-certificates",
];

/**
 * The operator's whole base: the C library and libgcc (the only libraries Deno links), CA certificates, time zone
 * data, and netbase (/etc/services, /etc/protocols).
 */
export const OPERATOR_PACKAGES: readonly string[] = ["libc6", "libgcc-s1", "ca-certificates", "tzdata", "netbase"];

/** Documentation, manuals and translations are left out at install time (the licences stay). */
const DPKG_EXCLUDES = [
  "path-exclude=/usr/share/man/*",
  "path-exclude=/usr/share/info/*",
  "path-exclude=/usr/share/doc/*",
  "path-include=/usr/share/doc/*/copyright",
  "path-exclude=/usr/share/locale/*",
  "path-exclude=/usr/share/lintian/*",
  "path-exclude=/usr/share/bash-completion/*",
  // glibc's iconv modules: neither Deno nor Varnish converts character sets.
  "path-exclude=/usr/lib/x86_64-linux-gnu/gconv/*",
];

/**
 * What varnishd's `gcc -shared` of VCL never uses: sanitizer and profiling runtimes, the LTO compiler and static C
 * libraries (libc_nonshared.a, which libc.so names, stays).
 */
const GATEWAY_DPKG_EXCLUDES = [
  ...["asan", "tsan", "lsan", "ubsan", "hwasan", "gprofng"].map((l) =>
    `path-exclude=/usr/lib/x86_64-linux-gnu/lib${l}*`
  ),
  "path-exclude=/usr/lib/gcc/x86_64-linux-gnu/12/*san*",
  "path-exclude=/usr/lib/gcc/x86_64-linux-gnu/12/lto1",
  "path-exclude=/usr/lib/x86_64-linux-gnu/libc.a",
  "path-exclude=/usr/lib/x86_64-linux-gnu/libm-2.36.a",
  "path-exclude=/usr/lib/x86_64-linux-gnu/libmvec.a",
  "path-exclude=/usr/bin/gp-*",
  "path-exclude=/usr/bin/x86_64-linux-gnu-gp-*",
];

/** A pinned package set. */
export interface DebLock {
  /** The lockfile. */
  path: string;
  /** `name=version` entries, sorted; empty when the lockfile does not exist yet. */
  pins: string[];
}

/**
 * Reads a lockfile.
 *
 * @param path The lockfile.
 * @returns The pins (none when the file does not exist).
 */
export async function readDebLock(path: string): Promise<DebLock> {
  try {
    const text = await Deno.readTextFile(path);
    return { path, pins: text.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#")).sort() };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { path, pins: [] };
    throw e;
  }
}

async function writeDebLock(path: string, packages: readonly SbomPackage[]): Promise<void> {
  const header = "# Pinned Debian bookworm packages of this image; `deno task images --update-lock` rewrites it.\n";
  await Deno.writeTextFile(path, header + packages.map((p) => `${p.name}=${p.version}\n`).join(""));
}

function checkPins(lock: DebLock, installed: readonly SbomPackage[]): void {
  const got = installed.map((p) => `${p.name}=${p.version}`).sort();
  const missing = lock.pins.filter((p) => !got.includes(p));
  const extra = got.filter((p) => !lock.pins.includes(p));
  if (missing.length > 0 || extra.length > 0) {
    throw new Error(
      `Cannot build from ${lock.path}: the installed packages differ from the pins: ` +
        `missing ${JSON.stringify(missing)}, unpinned ${JSON.stringify(extra)}; ` +
        "run `deno task images --update-lock` to take the archive's current versions",
    );
  }
}

/** Options of the base builders. */
export interface DebianOptions {
  /** The lockfile. */
  lock: DebLock;
  /** Take the archive's current versions and rewrite the lockfile instead of checking it. */
  updateLock: boolean;
}

/**
 * Builds the gateway's root filesystem into `root` with mmdebstrap, then removes what a read-only, non-root
 * container never uses (caches, logs, device nodes, Varnish's generated secret) and what would differ between two
 * builds of the same packages.
 *
 * @param root An empty folder.
 * @param options The lockfile.
 * @returns The installed packages.
 */
export async function buildGatewayRootfs(root: string, options: DebianOptions): Promise<SbomPackage[]> {
  const pinned = options.updateLock || options.lock.pins.length === 0 ? [...GATEWAY_PACKAGES] : options.lock.pins;
  await runCommand("mmdebstrap", {
    args: [...GATEWAY_MMDEBSTRAP_OPTIONS, `--include=${pinned.join(",")}`, "bookworm", root, ...SOURCES],
    env: { SOURCE_DATE_EPOCH: "0" },
  });
  const { stdout } = await runCommand("dpkg-query", {
    args: [`--admindir=${root}/var/lib/dpkg`, "-W", "-f", "${Package} ${Version}\\n"],
  });
  const packages = debPackagesFromDpkgQuery(stdout);
  if (options.updateLock || options.lock.pins.length === 0) await writeDebLock(options.lock.path, packages);
  else checkPins(options.lock, packages);
  await runCommand("sh", { args: ["-c", GATEWAY_CLEANUP, "sh", root] });
  return packages;
}

const GATEWAY_MMDEBSTRAP_OPTIONS = [
  "--mode=root",
  "--variant=essential",
  "--format=directory",
  "--quiet",
  // Merged /usr made by mmdebstrap with usr-is-merged, so that nothing installs usrmerge (which pulls in all of
  // Perl) to satisfy init-system-helpers' "usrmerge | usr-is-merged".
  "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr",
  '--aptopt=APT::Install-Recommends "false"',
  // The essential stage installs the archive's newest Essential packages; a pin behind a later update (zlib1g after
  // a security release) is then a downgrade, which apt refuses unless allowed: the lockfile's versions win.
  '--aptopt=APT::Get::allow-downgrades "true"',
  ...[...DPKG_EXCLUDES, ...GATEWAY_DPKG_EXCLUDES].map((o) => `--dpkgopt=${o}`),
];

const GATEWAY_CLEANUP = [
  "set -e",
  `cd "$1"`,
  "rm -rf dev/* run/* tmp/* var/tmp/* var/cache/apt var/lib/apt/lists var/cache/ldconfig/aux-cache",
  "rm -f var/cache/debconf/*-old var/lib/dpkg/*-old var/log/*.log var/log/apt/* etc/varnish/secret",
  "rm -rf usr/share/man usr/share/info usr/share/locale usr/share/lintian usr/share/bash-completion",
  ": > etc/machine-id; : > etc/hostname; rm -f etc/resolv.conf",
  // Days since the epoch of the last password change: the build date, which must not reach the image.
  "sed -i -E 's/^([^:]*:[^:]*:)[0-9]*:/\\1:/' etc/shadow",
  `grep -q '^nonroot:' etc/passwd || echo 'nonroot:x:${NONROOT_UID}:${NONROOT_UID}:nonroot:/home/nonroot:/usr/sbin/nologin' >> etc/passwd`,
  `grep -q '^nonroot:' etc/group || echo 'nonroot:x:${NONROOT_UID}:' >> etc/group`,
  `install -d -m 0750 -o ${NONROOT_UID} -g ${NONROOT_UID} home/nonroot`,
  // /var/run is a link to /run: the state dir's mount point, made inside the tree (never through the link).
  "install -d -m 0755 run/lacquer opt/lacquer",
  "chmod 1777 tmp",
].join("\n");

/** Everything that decides the gateway's base layer besides the pins: its cache key. */
export const GATEWAY_ROOTFS_RECIPE: string = JSON.stringify([
  SOURCES,
  GATEWAY_PACKAGES,
  GATEWAY_MMDEBSTRAP_OPTIONS,
  GATEWAY_CLEANUP,
]);

/**
 * Builds the operator's distroless root filesystem into `root`: the pinned packages' files only, a CA bundle, the
 * `root` and `nonroot` users, and a /var/lib/dpkg/status.d entry per package for image scanners.
 *
 * @param root An empty folder.
 * @param options The lockfile.
 * @returns The unpacked packages.
 */
export async function buildDistrolessRootfs(root: string, options: DebianOptions): Promise<SbomPackage[]> {
  const fresh = options.updateLock || options.lock.pins.length === 0;
  const wanted = fresh ? [...OPERATOR_PACKAGES] : options.lock.pins;
  const debs = await Deno.makeTempDir({ prefix: "lacquer-debs-" });
  try {
    await runCommand("apt-get", { args: ["download", "-q", ...wanted], cwd: debs });
    const packages: SbomPackage[] = [];
    await Deno.mkdir(`${root}/var/lib/dpkg/status.d`, { recursive: true });
    for (const file of [...Deno.readDirSync(debs)].map((e) => e.name).sort()) {
      const deb = `${debs}/${file}`;
      await runCommand("dpkg-deb", { args: ["-x", deb, root] });
      const control = (await runCommand("dpkg-deb", { args: ["-f", deb] })).stdout;
      const field = (name: string) => control.match(new RegExp(`^${name}: (.*)$`, "m"))?.[1] ?? "";
      packages.push({ type: "deb", name: field("Package"), version: field("Version") });
      await Deno.writeTextFile(`${root}/var/lib/dpkg/status.d/${field("Package")}`, control);
    }
    if (fresh) await writeDebLock(options.lock.path, packages);
    else checkPins(options.lock, packages);
    await runCommand("sh", { args: ["-c", DISTROLESS_SETUP, "sh", root] });
    return packages;
  } finally {
    await Deno.remove(debs, { recursive: true });
  }
}

const DISTROLESS_SETUP = [
  "set -e",
  `cd "$1"`,
  "find usr/share/doc -mindepth 2 ! -name copyright -delete 2>/dev/null || true",
  "rm -rf usr/share/man usr/share/info usr/share/locale usr/share/lintian usr/share/gcc usr/sbin usr/bin",
  "rm -rf usr/lib/x86_64-linux-gnu/gconv sbin",
  // update-ca-certificates would build this bundle in the package's postinst, which dpkg-deb -x does not run.
  "install -d etc/ssl/certs",
  "find usr/share/ca-certificates -name '*.crt' | LC_ALL=C sort | xargs cat > etc/ssl/certs/ca-certificates.crt",
  "ln -sfn /usr/share/zoneinfo/UTC etc/localtime",
  `printf 'root:x:0:0:root:/root:/sbin/nologin\\nnonroot:x:${NONROOT_UID}:${NONROOT_UID}:nonroot:/home/nonroot:/sbin/nologin\\n' > etc/passwd`,
  `printf 'root:x:0:\\nnonroot:x:${NONROOT_UID}:\\n' > etc/group`,
  "printf 'hosts: files dns\\n' > etc/nsswitch.conf",
  `install -d -m 0700 root; install -d -m 0750 -o ${NONROOT_UID} -g ${NONROOT_UID} home/nonroot`,
  "install -d -m 1777 tmp",
].join("\n");

/** Everything that decides the operator's base layer besides the pins: its cache key. */
export const DISTROLESS_ROOTFS_RECIPE: string = JSON.stringify([OPERATOR_PACKAGES, DPKG_EXCLUDES, DISTROLESS_SETUP]);
