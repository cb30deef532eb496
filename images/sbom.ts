/**
 * The software bill of materials beside each image: what it holds, as SPDX 2.3 JSON with a package URL per package.
 * Pure: readers of the lockfiles and the document builder.
 *
 * @module
 */

/** One package in an image. */
export interface SbomPackage {
  /** The package URL type: `deb`, `npm`, `cargo`, `golang` or `generic`. */
  type: "deb" | "npm" | "cargo" | "golang" | "generic";
  /** The name (npm scopes included: `@scope/name`). */
  name: string;
  /** The exact version. */
  version: string;
}

/**
 * Reads the npm packages of a `deno.lock` (version 4 or 5): every `name@version` key of its `npm` section.
 *
 * @example Usage
 * ```ts
 * import { npmPackagesFromDenoLock } from "./sbom.ts";
 * npmPackagesFromDenoLock('{"version":"5","npm":{"yaml@2.9.1":{}}}'); // [{ type: "npm", name: "yaml", version: "2.9.1" }]
 * ```
 *
 * @param text The lockfile.
 * @returns The packages, sorted.
 * @throws {SyntaxError} When the text is not JSON.
 */
export function npmPackagesFromDenoLock(text: string): SbomPackage[] {
  const lock = JSON.parse(text) as { npm?: Record<string, unknown> };
  return sortPackages(
    Object.keys(lock.npm ?? {}).map((key) => {
      // "@scope/name@1.2.3_peer@4" -> name "@scope/name", version "1.2.3" (peer suffixes are not versions).
      const at = key.indexOf("@", 1);
      return { type: "npm", name: key.slice(0, at), version: key.slice(at + 1).split("_")[0] };
    }),
  );
}

/**
 * Reads the crates of a `Cargo.lock`: those from crates.io as `cargo`, the workspace's own as `generic`.
 *
 * @example Usage
 * ```ts
 * import { cratesFromCargoLock } from "./sbom.ts";
 * cratesFromCargoLock('[[package]]\nname = "libc"\nversion = "0.2.1"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n');
 * // [{ type: "cargo", name: "libc", version: "0.2.1" }]
 * ```
 *
 * @param text The lockfile.
 * @returns The crates, sorted.
 */
export function cratesFromCargoLock(text: string): SbomPackage[] {
  const out: SbomPackage[] = [];
  for (const block of text.split("[[package]]").slice(1)) {
    const field = (name: string) => block.match(new RegExp(`^${name} = "([^"]*)"`, "m"))?.[1];
    const name = field("name");
    const version = field("version");
    if (!name || !version) continue;
    out.push({ type: field("source") ? "cargo" : "generic", name, version });
  }
  return sortPackages(out);
}

/**
 * Reads `dpkg-query -W -f '${Package} ${Version}\n'` output.
 *
 * @example Usage
 * ```ts
 * import { debPackagesFromDpkgQuery } from "./sbom.ts";
 * debPackagesFromDpkgQuery("libc6 2.36-9\n"); // [{ type: "deb", name: "libc6", version: "2.36-9" }]
 * ```
 *
 * @param text The output.
 * @returns The packages, sorted.
 */
export function debPackagesFromDpkgQuery(text: string): SbomPackage[] {
  return sortPackages(
    text.split("\n").filter((l) => l.trim() !== "").map((line) => {
      const [name, version] = line.trim().split(/\s+/);
      return { type: "deb", name, version };
    }),
  );
}

/**
 * Reads the modules of a Go binary from `go version -m` output: the main module and every dependency.
 *
 * @example Usage
 * ```ts
 * import { goModulesFromBuildInfo } from "./sbom.ts";
 * goModulesFromBuildInfo("x: go1.26\n\tmod\tgithub.com/coredns/coredns\tv1.12.2\th1:x=\n");
 * // [{ type: "golang", name: "github.com/coredns/coredns", version: "v1.12.2" }]
 * ```
 *
 * @param text The output.
 * @returns The modules, sorted.
 */
export function goModulesFromBuildInfo(text: string): SbomPackage[] {
  const out: SbomPackage[] = [];
  for (const line of text.split("\n")) {
    const [kind, name, version] = line.trim().split("\t");
    if ((kind === "mod" || kind === "dep") && name && version) out.push({ type: "golang", name, version });
  }
  return sortPackages(out);
}

/**
 * Returns a package's URL (purl).
 *
 * @example Usage
 * ```ts
 * import { packageUrl } from "./sbom.ts";
 * packageUrl({ type: "npm", name: "@kubernetes/client-node", version: "1.4.0" }); // "pkg:npm/%40kubernetes/client-node@1.4.0"
 * ```
 *
 * @param p The package.
 * @returns The purl.
 */
export function packageUrl(p: SbomPackage): string {
  const name = p.name.replace(/^@/, "%40");
  const version = encodeURIComponent(p.version);
  if (p.type === "deb") return `pkg:deb/debian/${name}@${version}?arch=amd64&distro=debian-12`;
  return `pkg:${p.type}/${name}@${version}`;
}

/** What the SPDX document describes. */
export interface SbomSubject {
  /** The image's reference. */
  ref: string;
  /** The manifest digest. */
  digest: string;
}

/**
 * Builds the SPDX 2.3 JSON document of an image. It has no wall-clock time in it, so equal images give equal files.
 *
 * @example Usage
 * ```ts
 * import { spdxDocument } from "./sbom.ts";
 * const doc = spdxDocument({ ref: "registry.k8s.io/pause:3.10.2", digest: "sha256:00" }, []);
 * // doc.spdxVersion === "SPDX-2.3"
 * ```
 *
 * @param subject The image.
 * @param packages Its packages, in any order; duplicates are listed once.
 * @returns The document.
 */
export function spdxDocument(subject: SbomSubject, packages: readonly SbomPackage[]): Record<string, unknown> {
  const unique = sortPackages([...new Map(packages.map((p) => [packageUrl(p), p])).values()]);
  const spdxPackages = unique.map((p, i) => ({
    name: p.name,
    SPDXID: `SPDXRef-Package-${i + 1}`,
    versionInfo: p.version,
    downloadLocation: "NOASSERTION",
    filesAnalyzed: false,
    externalRefs: [{ referenceCategory: "PACKAGE-MANAGER", referenceType: "purl", referenceLocator: packageUrl(p) }],
  }));
  return {
    spdxVersion: "SPDX-2.3",
    dataLicense: "CC0-1.0",
    SPDXID: "SPDXRef-DOCUMENT",
    name: subject.ref,
    documentNamespace: `https://lacquer.dev/spdx/${subject.digest.replace(":", "-")}`,
    creationInfo: { created: "1970-01-01T00:00:00Z", creators: ["Tool: lacquer-images"] },
    documentDescribes: spdxPackages.map((p) => p.SPDXID),
    packages: spdxPackages,
  };
}

function sortPackages(packages: SbomPackage[]): SbomPackage[] {
  const key = (p: SbomPackage) => `${p.type}\u0000${p.name}\u0000${p.version}`;
  return packages.sort((a, b) => key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
}
