import { deepEqual, equal, ok } from "node:assert/strict";
import {
  type DataPlaneRejection,
  encodeRejections,
  firstLines,
  parseRejections,
  redactSecrets,
} from "./data_plane_rejections.ts";

Deno.test("encodeRejections and parseRejections round-trip; nothing to report is no annotation", () => {
  const list: DataPlaneRejection[] = [
    { kind: "VCLRejected", hash: "sha256:aa", message: "Message from VCC-compiler:\nExpected ';' got '}'" },
    { kind: "RoutesSkipped", hash: "sha256:bb", message: "1 route(s) skipped\nns/r rule 0: bad regex" },
  ];
  deepEqual(parseRejections(encodeRejections(list)), list);
  equal(encodeRejections([]), undefined);
});

Deno.test("parseRejections reads a missing, malformed or foreign value as no rejection", () => {
  deepEqual(parseRejections(undefined), []);
  deepEqual(parseRejections("{"), []);
  deepEqual(parseRejections('[{"kind":"Other","hash":"x","message":""}]'), []);
});

Deno.test("encodeRejections bounds the annotation: lines, bytes per message, entries, 4 KiB in all", () => {
  const long = Array.from({ length: 100 }, (_, i) => `line ${i} ${"x".repeat(50)}`).join("\n");
  const many = Array.from(
    { length: 10 },
    (_, i) => ({ kind: "GhostRefused" as const, hash: `sha256:${i}`, message: long }),
  );
  const text = encodeRejections(many)!;
  ok(new TextEncoder().encode(text).length <= 4096, `${text.length}`);
  const parsed = parseRejections(text);
  ok(parsed.length >= 1 && parsed.length <= 6);
  ok(parsed[0].message.split("\n").length <= 13);
  ok(parsed[0].message.endsWith("…"));
  equal(parsed[0].hash, "sha256:0", "the first entries are kept");
});

Deno.test("redactSecrets removes PEM blocks and key material, keeps the words around them", () => {
  const pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----";
  equal(redactSecrets(`port-443.pem: bad\n${pem}\ntrailer`), "port-443.pem: bad\n[redacted]\ntrailer");
  equal(redactSecrets(`key ${"A".repeat(80)}`), "[redacted]");
  equal(redactSecrets("-----BEGIN CERTIFICATE-----\nMIIB (cut)"), "[redacted]");
  const encoded = encodeRejections([{ kind: "TLSBundleUnusable", hash: "sha256:cc", message: `oops\n${pem}` }])!;
  ok(!encoded.includes("MIIE"), encoded);
});

Deno.test("firstLines drops blank lines and marks a cut", () => {
  equal(firstLines("a\n\n b \nc\nd", { lines: 2 }), "a\n b\n…");
  equal(firstLines("a\nb"), "a\nb");
  equal(firstLines("abcdef\nghijkl", { bytes: 12 }), "abcdef\n…");
});
