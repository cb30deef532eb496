import { deepEqual, equal } from "node:assert/strict";
import {
  cratesFromCargoLock,
  debPackagesFromDpkgQuery,
  goModulesFromBuildInfo,
  npmPackagesFromDenoLock,
  packageUrl,
  spdxDocument,
} from "./sbom.ts";

Deno.test("npmPackagesFromDenoLock() reads scoped names and drops peer suffixes", () => {
  const lock = JSON.stringify({
    version: "5",
    npm: { "@jsep-plugin/regex@1.1.0_jsep@1.6.0": {}, "yaml@2.9.1": {} },
  });
  deepEqual(npmPackagesFromDenoLock(lock), [
    { type: "npm", name: "@jsep-plugin/regex", version: "1.1.0" },
    { type: "npm", name: "yaml", version: "2.9.1" },
  ]);
});

Deno.test("cratesFromCargoLock() tells crates.io crates from the workspace's own", () => {
  const text = [
    "version = 4",
    "",
    "[[package]]",
    'name = "ghost-core"',
    'version = "0.1.0"',
    "",
    "[[package]]",
    'name = "libc"',
    'version = "0.2.180"',
    'source = "registry+https://github.com/rust-lang/crates.io-index"',
  ].join("\n");
  deepEqual(cratesFromCargoLock(text), [
    { type: "cargo", name: "libc", version: "0.2.180" },
    { type: "generic", name: "ghost-core", version: "0.1.0" },
  ]);
});

Deno.test("debPackagesFromDpkgQuery() and goModulesFromBuildInfo() read the tools' output", () => {
  deepEqual(debPackagesFromDpkgQuery("varnish 7.1.1-2+deb12u1\nlibc6 2.36-9\n\n"), [
    { type: "deb", name: "libc6", version: "2.36-9" },
    { type: "deb", name: "varnish", version: "7.1.1-2+deb12u1" },
  ]);
  const info =
    "/x/coredns: go1.26.8\n\tpath\tgithub.com/coredns/coredns\n\tmod\tgithub.com/coredns/coredns\tv1.12.2\th1:a=\n" +
    "\tdep\tgithub.com/miekg/dns\tv1.1.62\th1:b=\n\tbuild\tCGO_ENABLED=0\n";
  deepEqual(goModulesFromBuildInfo(info).map((p) => `${p.name}@${p.version}`), [
    "github.com/coredns/coredns@v1.12.2",
    "github.com/miekg/dns@v1.1.62",
  ]);
});

Deno.test("spdxDocument() lists each package once with its purl, and nothing from the clock", () => {
  const libc = { type: "deb" as const, name: "libc6", version: "2.36-9+deb12u14" };
  const doc = spdxDocument({ ref: "r:1", digest: "sha256:ab" }, [libc, libc]);
  const packages = doc.packages as { externalRefs: { referenceLocator: string }[] }[];
  equal(packages.length, 1);
  equal(
    packages[0].externalRefs[0].referenceLocator,
    "pkg:deb/debian/libc6@2.36-9%2Bdeb12u14?arch=amd64&distro=debian-12",
  );
  equal(doc.documentNamespace, "https://lacquer.dev/spdx/sha256-ab");
  equal(
    packageUrl({ type: "npm", name: "@kubernetes/client-node", version: "1.4.0" }),
    "pkg:npm/%40kubernetes/client-node@1.4.0",
  );
  deepEqual(spdxDocument({ ref: "r:1", digest: "sha256:ab" }, [libc]), doc);
});
