/**
 * Misdirected requests through real hitch, varnishd and the ghost VMOD: hitch passes the client's TLS server name in
 * its PROXY header, ghost answers 421 when it selects another HTTPS listener than the Host does, over HTTP/2 (a
 * Gateway with `http2`) and HTTP/1.1. Needs `deno task test` (local cluster) and the built VMOD; skipped otherwise.
 *
 * @module
 */
import { equal } from "node:assert/strict";
import { Buffer } from "node:buffer";
import { tlsBundleKey } from "../internal/names.ts";
import { eventually, selfSignedCertificate } from "../tests/cluster/mod.ts";
import { applyGhostGateway, applyObject, ghostClusterTest, withTestChaperone } from "./_test_cluster_fixtures.ts";
import { freePort } from "./_test_varnish.ts";

const BACKEND = "10.245.4.1";

/** The listeners of the Gateway API conformance test for misdirected requests, on one HTTPS socket. */
function routing(namespace: string): string {
  const route = (name: string, listeners: string[]) => ({
    id: { namespace, name, rule: 0 },
    created: "2026-01-01T00:00:00Z",
    listeners,
    backends: [{ weight: 1, service: { namespace, name: "app", port: 80 } }],
  });
  const listener = (name: string, hostname?: string) => ({
    name,
    socket: "port-https",
    port: 443,
    protocol: "HTTPS",
    ...(hostname === undefined ? {} : { hostname }),
  });
  return JSON.stringify({
    version: 1,
    listeners: [
      listener("https"),
      listener("second", "second-example.org"),
      listener("wild", "*.wildcard.org"),
      listener("fourth", "fourth-example.wildcard.org"),
    ],
    vhosts: {
      "example.org": { routes: [route("first", ["https"])] },
      "*": { routes: [route("others", ["second", "wild", "fourth"])] },
    },
  }) + "\n";
}

/** An HTTPS request with server name `sni` and Host `host`; answers "<status> HTTP/<version>". */
async function request(port: number, sni: string, host: string, ca: string, http: "--http2" | "--http1.1") {
  const output = await new Deno.Command("curl", {
    args: [
      "-sS",
      "-o",
      "/dev/null",
      "--max-time",
      "5",
      http,
      "--cacert",
      ca,
      "--resolve",
      `${sni}:${port}:127.0.0.1`,
      "-H",
      `Host: ${host}`,
      "-w",
      "%{http_code} HTTP/%{http_version}",
      `https://${sni}:${port}/`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) throw new Error(`curl failed: ${new TextDecoder().decode(output.stderr)}`);
  return new TextDecoder().decode(output.stdout);
}

ghostClusterTest(
  "ghost answers 421 when the TLS server name selects another HTTPS listener than the Host, over HTTP/2 and 1.1",
  "lacquer-misdirected-",
  async ({ ns, workDir, t }) => {
    const certDir = `${workDir}/certs`;
    await Deno.mkdir(certDir);
    const httpsPort = freePort();
    const names = ["example.org", "second-example.org", "*.wildcard.org", "unknown-example.org"];
    const cert = await selfSignedCertificate(certDir, "all", names);
    await applyObject(ns, `/api/v1/namespaces/${ns.name}/secrets`, "gw-lacquer-tls", {
      metadata: { name: "gw-lacquer-tls" },
      type: "Opaque",
      data: { [tlsBundleKey("port-https")]: Buffer.from(cert.key + cert.cert).toString("base64") },
    });
    const { config } = await applyGhostGateway(ns, { workDir, backend: BACKEND, routingJson: routing(ns.name) });
    const options = {
      workDir,
      backends: [BACKEND],
      config: { ...config, tlsListen: [`port-https=127.0.0.1:${httpsPort}`], http2: "true" },
    };
    // The cases of the conformance test HTTPRouteHTTPSListenerDetectMisdirectedRequests: 404 is the same listener
    // without a route for the Host.
    const cases: [sni: string, host: string, status: number][] = [
      ["example.org", "example.org", 200],
      ["example.org", "second-example.org", 421],
      ["example.org", "unknown-example.org", 404],
      ["second-example.org", "second-example.org", 200],
      ["second-example.org", "example.org", 421],
      ["second-example.org", "unknown-example.org", 421],
      ["third-example.wildcard.org", "fith-example.wildcard.org", 200],
      ["third-example.wildcard.org", "fourth-example.wildcard.org", 421],
      ["fourth-example.wildcard.org", "fourth-example.wildcard.org", 200],
      ["fourth-example.wildcard.org", "fith-example.wildcard.org", 421],
      ["unknown-example.org", "example.org", 200],
      ["unknown-example.org", "unknown-example.org", 404],
    ];
    await withTestChaperone(ns, options, async () => {
      await eventually(
        async () =>
          equal(await request(httpsPort, "example.org", "example.org", cert.certFile, "--http2"), "200 HTTP/2"),
        { timeoutMs: 30_000 },
      );
      for (const http of ["--http2", "--http1.1"] as const) {
        const version = http === "--http2" ? "2" : "1.1";
        await t.step(`over HTTP/${version}`, async () => {
          for (const [sni, host, status] of cases) {
            equal(
              await request(httpsPort, sni, host, cert.certFile, http),
              `${status} HTTP/${version}`,
              `SNI ${sni}, Host ${host}`,
            );
          }
        });
      }
    });
  },
);
