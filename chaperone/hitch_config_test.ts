import { deepStrictEqual, equal, match, ok, throws } from "node:assert/strict";
import { selfSignedCertificate } from "../tests/cluster/pki_writer.ts";
import { hitchConfig, selectTlsBundles, tlsBackendPorts, tlsBundleProblem, usableTlsBundles } from "./hitch_config.ts";

Deno.test("selectTlsBundles() takes the socket's bundles by key, the default last, each text once", async (t) => {
  await t.step("default last", () => {
    deepStrictEqual(
      selectTlsBundles({
        "port-443.pem": "DEFAULT",
        "port-443.b.pem": "B",
        "port-443.a.pem": "A",
        "port-8443.a.pem": "OTHER",
        "tls.crt": "CRT",
      }, "port-443"),
      [{ name: "port-443.a.pem", pem: "A" }, { name: "port-443.b.pem", pem: "B" }, {
        name: "port-443.pem",
        pem: "DEFAULT",
      }],
    );
  });
  await t.step("a repeated text is kept at its last position", () => {
    deepStrictEqual(
      selectTlsBundles({ "port-443.pem": "A", "port-443.a.pem": "A", "port-443.b.pem": "A" }, "port-443"),
      [{ name: "port-443.pem", pem: "A" }],
    );
  });
  await t.step("no default: key order", () => {
    deepStrictEqual(selectTlsBundles({ "port-443.x_1.pem": "X1", "port-443.x.pem": "X" }, "port-443"), [
      { name: "port-443.x.pem", pem: "X" },
      { name: "port-443.x_1.pem", pem: "X1" },
    ]);
  });
  await t.step("nothing for the socket", () => {
    deepStrictEqual(selectTlsBundles({ "port-4430.pem": "A" }, "port-443"), []);
  });
});

Deno.test("tlsBackendPorts() picks free loopback ports, skipping listener, CLI and ghost ports", () => {
  deepStrictEqual(
    tlsBackendPorts([{ name: "a", host: "", port: 6101 }, { name: "b", host: "", port: 443 }], { taken: [6100] }),
    new Map([["a", 6102], ["b", 6103]]),
  );
  deepStrictEqual(tlsBackendPorts([{ name: "a", host: "", port: 443 }], { first: 6082 }), new Map([["a", 6083]]));
});

Deno.test("hitchConfig() writes a frontend, a PROXY v2 backend and the certificates in order", () => {
  equal(
    hitchConfig({
      frontend: { name: "port-443", host: "", port: 443 },
      backendPort: 6100,
      pemFiles: ["/w/tls/port-443/port-443.a.pem", "/w/tls/port-443/port-443.pem"],
      ocspDir: "/w/tls/port-443/ocsp",
      user: "nobody",
    }),
    [
      "# hitch for listener socket port-443, written by lacquer chaperone",
      "frontend = {",
      '  host = "*"',
      '  port = "443"',
      "}",
      'backend = "[127.0.0.1]:6100"',
      "write-proxy-v2 = on",
      'alpn-protos = "http/1.1"',
      "tls-protos = TLSv1.2 TLSv1.3",
      "workers = 1",
      "daemon = off",
      "log-level = 1",
      'ocsp-dir = "/w/tls/port-443/ocsp"',
      'user = "nobody"',
      'pem-file = "/w/tls/port-443/port-443.a.pem"',
      'pem-file = "/w/tls/port-443/port-443.pem"',
      "",
    ].join("\n"),
  );
});

Deno.test("hitchConfig() binds a given host and refuses a listener without certificates", () => {
  const text = hitchConfig({
    frontend: { name: "v6", host: "[::1]", port: 8443 },
    backendPort: 6100,
    pemFiles: ["/c.pem"],
    ocspDir: "/o",
  });
  equal(text.split("\n")[2], '  host = "::1"');
  throws(
    () => hitchConfig({ frontend: { name: "x", host: "", port: 1 }, backendPort: 2, pemFiles: [], ocspDir: "/o" }),
    RangeError,
  );
});

Deno.test("tlsBundleProblem() and usableTlsBundles() accept a key with its certificate and name what is wrong", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const make = async (name: string) => {
      const { key, cert } = await selfSignedCertificate(dir, name, ["x"]);
      return { key, crt: cert };
    };
    const a = await make("a");
    const b = await make("b");
    equal(tlsBundleProblem(a.key + a.crt), undefined);
    equal(tlsBundleProblem(a.key + b.crt), "its first certificate does not belong to its private key");
    equal(tlsBundleProblem(a.crt), "it holds no private key");
    equal(tlsBundleProblem(a.key), "it holds no certificate");
    deepStrictEqual(usableTlsBundles({ "s.a.pem": a.key + a.crt, "s.b.pem": a.key + b.crt, "t.pem": a.crt }, "s"), {
      bundles: [{ name: "s.a.pem", pem: a.key + a.crt }],
      skipped: [{ key: "s.b.pem", problem: "its first certificate does not belong to its private key" }],
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hitchConfig() offers h2 before http/1.1 only with http2", () => {
  const options = {
    frontend: { name: "s", host: "", port: 443 },
    backendPort: 6100,
    pemFiles: ["/c.pem"],
    ocspDir: "/o",
  };
  const alpn = (text: string) => text.split("\n").find((l) => l.startsWith("alpn-protos"));
  equal(alpn(hitchConfig(options)), 'alpn-protos = "http/1.1"');
  equal(alpn(hitchConfig({ ...options, http2: false })), 'alpn-protos = "http/1.1"');
  equal(alpn(hitchConfig({ ...options, http2: true })), 'alpn-protos = "h2, http/1.1"');
});

Deno.test("hitchConfig() verifies client certificates against the CA file, required or optional", () => {
  const base = {
    frontend: { name: "port-443", host: "", port: 443 },
    backendPort: 6100,
    pemFiles: ["/w/tls/port-443/port-443.pem"],
    ocspDir: "/w/tls/port-443/ocsp",
  };
  const required = hitchConfig({
    ...base,
    clientVerify: { mode: "required", caFile: "/w/tls/port-443/client-ca.crt" },
  });
  // Global settings, before the certificates: a frontend block's own would not cover the certificates SNI picks.
  ok(
    required.endsWith(
      [
        "client-verify = required",
        'client-verify-ca = "/w/tls/port-443/client-ca.crt"',
        'pem-file = "/w/tls/port-443/port-443.pem"',
        "",
      ].join("\n"),
    ),
    required,
  );
  // AllowInsecureFallback: the patched hitch's setting that serves a failed verification too (images/hitch/).
  match(
    hitchConfig({ ...base, clientVerify: { mode: "optional", caFile: "/c.crt" } }),
    /^client-verify = optional-no-ca$/m,
  );
  ok(!hitchConfig(base).includes("client-verify"));
});
