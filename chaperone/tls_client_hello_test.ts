import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { selfSignedCertificate } from "../tests/cluster/pki_writer.ts";
import { tlsClientHello } from "./tls_client_hello.ts";

Deno.test("tlsClientHello() is a ClientHello a real TLS server answers with a ServerHello, with and without SNI", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lacquer-hello-" });
  const { cert, key } = await selfSignedCertificate(dir, "server", ["a.example.com"]);
  const listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key });
  const serving = (async () => {
    for await (const conn of listener) {
      await conn.handshake().catch(() => {});
      conn.close();
    }
  })();
  try {
    for (const serverName of [undefined, "a.example.com"]) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
      await conn.write(tlsClientHello({ random: new Uint8Array(32).fill(7), serverName }));
      const reply = new Uint8Array(6);
      strictEqual(await conn.read(reply), 6);
      conn.close();
      // A handshake record of TLS 1.2 whose first message is a ServerHello (type 2).
      deepStrictEqual([reply[0], reply[1], reply[2], reply[5]], [0x16, 0x03, 0x03, 0x02]);
    }
  } finally {
    listener.close();
    await serving;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tlsClientHello() refuses random of the wrong length", () => {
  throws(() => tlsClientHello({ random: new Uint8Array(31) }), RangeError);
});
