import { deepEqual, equal } from "node:assert/strict";
import { createLogger } from "../internal/log.ts";
import { eventually } from "../tests/cluster/eventually.ts";
import {
  type SelfSignedCertificate,
  selfSignedCertificate,
  testCertificateAuthority,
} from "../tests/cluster/pki_writer.ts";
import { freePort } from "./_test_varnish.ts";
import { HitchSupervisor } from "./hitch_supervisor.ts";

Deno.test("HitchSupervisor waits for certificates, and retries instead of failing when hitch is missing", async () => {
  const dir = await Deno.makeTempDir();
  const lines: string[] = [];
  const hitch = new HitchSupervisor({
    hitch: `${dir}/no-such-hitch`,
    socket: { name: "port-443", host: "127.0.0.1", port: freePort() },
    backendPort: freePort(),
    dir: `${dir}/tls`,
    log: createLogger({ level: "debug", sink: (line) => lines.push(line) }),
    backoffMs: 10,
  });
  try {
    equal(hitch.state, "waiting");
    await hitch.update([]);
    equal(hitch.state, "waiting");
    await hitch.update([{ name: "port-443.pem", pem: "KEY\nCERT\n" }]);
    equal(Deno.readTextFileSync(`${dir}/tls/port-443.pem`), "KEY\nCERT\n");
    equal(Deno.statSync(`${dir}/tls/hitch.conf`).mode! & 0o777, 0o600);
    await eventually(() => equal(lines.filter((l) => l.includes("hitch did not start")).length >= 2, true));
    equal(hitch.state, "backoff");
  } finally {
    await hitch.stop();
    await Deno.remove(dir, { recursive: true });
  }
  equal(hitch.state, "stopped");
});

/**
 * What the SSL TLV of a PROXY v2 header says about the client certificate (proxy-protocol.txt, PP2_TYPE_SSL):
 * `verified` (PP2_CLIENT_CERT_CONN and verify 0), `failed(<X509 error>)` (a certificate that failed), or `none`.
 */
function clientCertOfProxyHeader(header: Uint8Array): string {
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const end = Math.min(16 + view.getUint16(14), header.length);
  for (let at = 16 + (header[13] === 0x11 ? 12 : 36); at + 3 <= end; at += 3 + view.getUint16(at + 1)) {
    if (header[at] !== 0x20) continue;
    const client = header[at + 3];
    const verify = view.getUint32(at + 4);
    if (client & 0x02 && verify === 0) return "verified";
    return client & 0x04 ? `failed(${verify})` : "none";
  }
  return "no SSL TLV";
}

/** A stand-in for varnishd's PROXY socket: answers every request 200 with what the PROXY header says of the client. */
function proxyBackend(port: number): Deno.TcpListener {
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  (async () => {
    for await (const conn of listener) {
      (async () => {
        const buf = new Uint8Array(16384);
        let received = new Uint8Array(0);
        while (!new TextDecoder("latin1").decode(received).includes("\r\n\r\n")) {
          const n = await conn.read(buf).catch(() => null);
          if (n === null) break;
          received = new Uint8Array([...received, ...buf.subarray(0, n)]);
        }
        const body = clientCertOfProxyHeader(received);
        await conn.write(
          new TextEncoder().encode(
            `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
          ),
        ).catch(() => {});
        conn.close();
      })();
    }
  })();
  return listener;
}

/**
 * curl over TLS with an optional client certificate: `<HTTP status>/<client certificate as the PROXY header says>`,
 * or "refused" when the handshake fails.
 */
async function curlStatus(port: number, server: string, client?: SelfSignedCertificate): Promise<string> {
  const output = await new Deno.Command("curl", {
    args: [
      "-s",
      "--max-time",
      "5",
      "--cacert",
      server,
      "--resolve",
      `a.example.com:${port}:127.0.0.1`,
      ...(client ? ["--cert", client.certFile, "--key", client.keyFile] : []),
      "-w",
      "/%{http_code}",
      `https://a.example.com:${port}/`,
    ],
    stdout: "piped",
    stderr: "null",
  }).output();
  const [body, status] = new TextDecoder().decode(output.stdout).split("/");
  return output.success && status !== "000" ? `${status}/${body}` : "refused";
}

Deno.test({
  name: "HitchSupervisor verifies client certificates, and changes the verification with reloads, not restarts",
  ignore: Deno.build.os !== "linux",
}, async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "lacquer-hitch-client-" });
  const port = freePort();
  const backend = proxyBackend(freePort());
  const server = await selfSignedCertificate(dir, "server", ["a.example.com"]);
  const ca = await testCertificateAuthority(dir, "clients");
  const other = await testCertificateAuthority(dir, "others");
  const valid = await ca.issueClient("alice");
  const foreign = await other.issueClient("mallory");
  const hitch = new HitchSupervisor({
    hitch: "hitch",
    socket: { name: "port-443", host: "127.0.0.1", port },
    backendPort: backend.addr.port,
    dir: `${dir}/tls`,
    log: createLogger({ level: "error", sink: () => {} }),
  });
  const bundles = [{ name: "port-443.pem", pem: server.key + server.cert }];
  const statuses = async () =>
    [
      await curlStatus(port, server.certFile, valid),
      await curlStatus(port, server.certFile),
      await curlStatus(port, server.certFile, foreign),
    ].join(" ");
  try {
    await t.step("required: only a certificate the CA issued is served", async () => {
      await hitch.update(bundles, { mode: "required", ca: ca.ca });
      await eventually(() => equal(hitch.state, "running"), { timeoutMs: 10_000 });
      await eventually(async () => equal(await statuses(), "200/verified refused refused"));
    });
    await t.step("optional: every client is served, and the PROXY header tells which one was verified", async () => {
      await hitch.update(bundles, { mode: "optional", ca: ca.ca });
      // The old workers may take a connection in the moment they are being replaced. 21: the issuer is unknown
      // (X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE).
      await eventually(async () => equal(await statuses(), "200/verified 200/none 200/failed(21)"));
    });
    await t.step("another CA: its certificates are served, the first CA's refused", async () => {
      await hitch.update(bundles, { mode: "required", ca: other.ca });
      await eventually(async () => equal(await statuses(), "refused refused 200/verified"));
    });
    await t.step("no verification: every client is served, and hitch was never restarted", async () => {
      await hitch.update(bundles);
      await eventually(async () => equal(await statuses(), "200/none 200/none 200/none"));
      equal(hitch.starts, 1);
      equal(hitch.reloads, 6);
      deepEqual([...Deno.readDirSync(`${dir}/tls`)].map((e) => e.name).sort(), [
        "g6.port-443.pem",
        "hitch.conf",
        "ocsp",
      ]);
    });
  } finally {
    await hitch.stop();
    backend.close();
    await Deno.remove(dir, { recursive: true });
  }
});
