import { deepEqual, equal, match, ok } from "node:assert/strict";
import { encodeRejections, REJECTIONS_ANNOTATION } from "../../internal/data_plane_rejections.ts";
import { podSchema } from "../api_types.ts";
import { currentRejections, describeProblem, mapVclLines } from "./data_plane.ts";

const hashes = { routing: "sha256:routing000000000000", vcl: "sha256:vcl0000000000000000" };

function pod(name: string, rejected: Parameters<typeof encodeRejections>[0], deleted = false) {
  return podSchema.parse({
    metadata: {
      name,
      namespace: "ns",
      annotations: { [REJECTIONS_ANNOTATION]: encodeRejections(rejected)! },
      ...(deleted ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
    },
  });
}

Deno.test("mapVclLines() maps main.vcl lines inside the user's VCL to the user's own numbers", () => {
  const lines = { first: 66, last: 80, userFirst: 3 };
  const compiler = [
    "Message from VCC-compiler:",
    "Expected ')' got '{'",
    "('<vcl.inline>' Line 70 Pos 21)",
    "(program line 70), at",
    "('<vcl.inline>' Line 12 Pos 1)",
  ].join("\n");
  equal(
    mapVclLines(compiler, lines),
    [
      "Message from VCC-compiler:",
      "Expected ')' got '{'",
      "(your VCL line 7, position 21)",
      "at",
      "(generated VCL line 12, position 1)",
    ].join("\n"),
  );
  equal(
    mapVclLines("('<vcl.inline>' Line 66 Pos 1) ('x' Line 80 Pos 2) ('x' Line 81 Pos 3)", lines),
    "(your VCL line 3, position 1) (your VCL line 17, position 2) (generated VCL line 81, position 3)",
  );
  equal(mapVclLines("('<vcl.inline>' Line 70 Pos 21)", undefined), "(generated VCL line 70, position 21)");
});

Deno.test("currentRejections() groups the same rejection over pods and drops stale hashes and deleted pods", () => {
  const vcl = {
    kind: "VCLRejected" as const,
    hash: hashes.vcl,
    message: "Expected ';'\n('<vcl.inline>' Line 70 Pos 3)",
  };
  const stale = { kind: "VCLRejected" as const, hash: "sha256:old", message: "old" };
  const skipped = {
    kind: "RoutesSkipped" as const,
    hash: hashes.routing,
    message: "1 route(s) skipped\nns/r rule 0: x",
  };
  const tls = { kind: "TLSBundleUnusable" as const, hash: "sha256:pem", message: "port-443.https.pem: no key" };
  const problems = currentRejections(
    [pod("gw-b", [vcl, skipped]), pod("gw-a", [vcl, stale, tls]), pod("gw-c", [vcl], true)],
    { hashes, tlsBundleHashes: new Set(["sha256:pem"]), userVcl: { first: 60, last: 90, userFirst: 1, source: "cm" } },
  );
  deepEqual(problems.map((p) => [p.kind, p.pods]), [
    ["VCLRejected", ["gw-a", "gw-b"]],
    ["RoutesSkipped", ["gw-b"]],
    ["TLSBundleUnusable", ["gw-a"]],
  ]);
  match(problems[0].message, /your VCL line 11, position 3/);
  deepEqual(currentRejections([pod("gw-a", [tls])], { hashes }), [], "a bundle no longer in the Secret");
  const init = { kind: "VCLInitFailed" as const, hash: hashes.vcl, message: "Message from vcl_init:\nnope" };
  const [failed] = currentRejections([pod("gw-a", [init])], { hashes });
  deepEqual([failed.kind, failed.pods], ["VCLInitFailed", ["gw-a"]]);
  match(
    describeProblem(failed, 1, "cm"),
    /^main\.vcl failed in vcl_init; pods that had a VCL keep serving it \(your VCL: cm\)/,
  );
});

Deno.test("describeProblem() names what, which pods (a few), which configuration, and the first lines", () => {
  const problem = {
    kind: "VCLRejected" as const,
    hash: "sha256:0123456789abcdef0123",
    pods: ["p1", "p2", "p3", "p4", "p5"],
    message: Array.from({ length: 20 }, (_, i) => `line ${i}`).join("\n"),
  };
  const text = describeProblem(problem, 6, 'ConfigMap "ns/vcl" key "main.vcl"');
  match(
    text,
    /^main\.vcl was rejected; pods that had a VCL keep serving it \(your VCL: ConfigMap "ns\/vcl" key "main\.vcl"\)/,
  );
  match(text, /5 of 6 gateway pods \(p1, p2, p3 and 2 more\), configuration sha256:0123456789ab:\nline 0\n/);
  ok(text.endsWith("line 7\n…"), text);
});
