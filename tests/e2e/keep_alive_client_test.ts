import { equal, rejects } from "node:assert/strict";
import { KeepAliveClient } from "./keep_alive_client.ts";
import { rawServer } from "./_test_raw_server.ts";

Deno.test("KeepAliveClient: requests share one connection, with the Host given and both body framings", async () => {
  const server = rawServer((host, n) =>
    n % 2 === 0
      ? `HTTP/1.1 200 OK\r\nContent-Length: ${host.length}\r\n\r\n${host}`
      : `HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n${
        host.length.toString(16)
      }\r\n${host}\r\n0\r\n\r\n`
  );
  using client = new KeepAliveClient("127.0.0.1", server.port);
  equal(await client.get("a.example"), "200 a.example");
  equal(await client.get("bb.example"), "404 abcbb.example");
  equal(await client.get("c.example"), "200 c.example");
  equal(client.connections, 1);
  equal(server.accepted(), 1);
  client.close();
  await server.close();
});

Deno.test("KeepAliveClient: a connection the server closes is opened again for the next request", async () => {
  const server = rawServer((host) =>
    `HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n${host.slice(0, 2)}`
  );
  using client = new KeepAliveClient("127.0.0.1", server.port);
  equal(await client.get("xy.example"), "200 xy");
  equal(await client.get("zw.example"), "200 zw");
  equal(client.connections, 2);
  client.close();
  await server.close();
});

Deno.test("KeepAliveClient: a response cut short fails, and the next request reconnects", async () => {
  let cut = true;
  const server = rawServer(() => {
    const reply = cut
      ? "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\nshort"
      : "HTTP/1.1 204 No\r\n\r\n";
    cut = false;
    return reply;
  });
  using client = new KeepAliveClient("127.0.0.1", server.port);
  await rejects(client.get("a"), /closed before the end/);
  equal(await client.get("a"), "204 ");
  equal(client.connections, 2);
  client.close();
  await server.close();
});
