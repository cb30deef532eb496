/**
 * The chaperone's drain with the real ghost VMOD and the operator's generated VCL: a client that holds a keep-alive
 * connection across the start of a drain gets `Connection: close` on its next answer, and varnishd is not stopped
 * while that connection is open, even past the quiet window. Needs `deno task test` (local cluster) and the
 * installed VMOD; skipped otherwise.
 *
 * @module
 */
import { equal, match } from "node:assert/strict";
import { eventually } from "../tests/cluster/eventually.ts";
import { applyGhostGateway, ghostClusterTest, testRoutingJson, withTestChaperone } from "./_test_cluster_fixtures.ts";
import { getWithHost } from "./_test_varnish.ts";

const BACKEND = "10.245.3.1";

/** Sends one keep-alive request on `conn` and reads one answer (headers and a Content-Length body). */
async function exchange(conn: Deno.Conn, path: string): Promise<string> {
  await conn.write(new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: app.test\r\n\r\n`));
  let text = "";
  const buffer = new Uint8Array(16 * 1024);
  for (;;) {
    const end = text.indexOf("\r\n\r\n");
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text)?.[1] ?? 0);
    if (end >= 0 && text.length >= end + 4 + length) return text;
    const n = await conn.read(buffer);
    if (n === null) throw new Error(`connection closed after ${JSON.stringify(text)}`);
    text += new TextDecoder().decode(buffer.subarray(0, n));
  }
}

ghostClusterTest(
  "chaperone drain with ghost: a held keep-alive connection gets Connection: close and is waited for",
  "lacquer-drain-",
  async ({ ns, workDir }) => {
    const routingJson = testRoutingJson(ns.name, "app");
    const { httpPort, config } = await applyGhostGateway(ns, { workDir, backend: BACKEND, routingJson });
    // A bound far above the 2 s quiet window: the drain must end because the connection went away.
    const drainConfig = { ...config, drainSeconds: "30" };
    await withTestChaperone(ns, { workDir, backends: [BACKEND], config: drainConfig }, async (running) => {
      const { chaperone, stop, lines } = running;
      await eventually(async () => equal(await getWithHost(httpPort, "app.test", "/"), `200 ${BACKEND}`), {
        timeoutMs: 30_000,
      });
      using conn = await Deno.connect({ hostname: "127.0.0.1", port: httpPort });
      const before = await exchange(conn, "/");
      match(before, /^HTTP\/1\.1 200 /);
      equal(/\r\nconnection: *close\r\n/i.test(before), false, "keep-alive before the drain");
      stop(); // SIGTERM's path: readiness 503, then the drain
      await eventually(() => equal(lines.some((l) => JSON.parse(l).msg === "Draining"), true));
      // Past the quiet window (no request for 2 s) the client still holds its connection: varnishd must still serve.
      const exitedEarly = await Promise.race([
        chaperone.exit.then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 3_000)),
      ]);
      equal(exitedEarly, false, "the chaperone stopped varnishd while a client connection was open");
      const during = await exchange(conn, "/");
      match(during, /^HTTP\/1\.1 200 /);
      match(during, /\r\nconnection: *close\r\n/i);
      equal(await conn.read(new Uint8Array(1)), null, "varnishd closes the connection after that answer");
      equal(await chaperone.exit, 0);
      const drained = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "Drained");
      equal(drained.map((l) => l.reason).join(), "quiet");
    });
  },
);
