import { equal } from "node:assert/strict";
import { serveAdmin } from "./admin_server.ts";

Deno.test("serveAdmin() answers with the handler until its signal aborts", async () => {
  const stop = new AbortController();
  const server = serveAdmin(
    { hostname: "127.0.0.1", port: 0 },
    (request) => new Response(new URL(request.url).pathname),
    {
      signal: stop.signal,
    },
  );
  const { port } = server.addr as Deno.NetAddr;
  equal(await (await fetch(`http://127.0.0.1:${port}/healthz`)).text(), "/healthz");
  stop.abort();
  await server.finished;
});
