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

/** A stand-in for varnishd's PROXY socket: answers every request 200 with the PROXY header's length. */
function proxyBackend(port: number): Deno.TcpListener {
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  (async () => {
    for await (const conn of listener) {
      (async () => {
        const buf = new Uint8Array(16384);
        let text = "";
        while (!text.includes("\r\n\r\n")) {
          const n = await conn.read(buf).catch(() => null);
          if (n === null) break;
          text += new TextDecoder("latin1").decode(buf.subarray(0, n));
        }
        await conn.write(
          new TextEncoder().encode("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"),
        )
          .catch(() => {});
        conn.close();
      })();
    }
  })();
  return listener;
}

/** curl over TLS with an optional client certificate: the HTTP status, or "refused" when the handshake fails. */
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
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      `https://a.example.com:${port}/`,
    ],
    stdout: "piped",
    stderr: "null",
  }).output();
  const status = new TextDecoder().decode(output.stdout);
  return output.success && status !== "000" ? status : "refused";
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
      await eventually(async () => equal(await statuses(), "200 refused refused"));
    });
    await t.step("optional: clients without a certificate are served too", async () => {
      await hitch.update(bundles, { mode: "optional", ca: ca.ca });
      // The old workers may take a connection in the moment they are being replaced.
      await eventually(async () => equal(await statuses(), "200 200 refused"));
    });
    await t.step("another CA: its certificates are served, the first CA's refused", async () => {
      await hitch.update(bundles, { mode: "required", ca: other.ca });
      await eventually(async () => equal(await statuses(), "refused refused 200"));
    });
    await t.step("no verification: every client is served, and hitch was never restarted", async () => {
      await hitch.update(bundles);
      await eventually(async () => equal(await statuses(), "200 200 200"));
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
