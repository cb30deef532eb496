import { notStrictEqual, ok } from "node:assert/strict";
import { freePort } from "./free_port.ts";

Deno.test("freePort() returns distinct ports below the ephemeral range that can be listened on", () => {
  const ports = Array.from({ length: 20 }, () => freePort());
  ok(ports.every((p) => p >= 20_000 && p < 32_768), `ports: ${ports}`);
  ok(new Set(ports).size === ports.length, `distinct: ${ports}`);
  using listener = Deno.listen({ hostname: "127.0.0.1", port: ports[0] });
  notStrictEqual(listener.addr.port, 0);
});

Deno.test("freePort() skips a port something listens on", () => {
  const taken = freePort();
  // the next candidate is taken
  using blocker = Deno.listen({ hostname: "127.0.0.1", port: taken + 1 === 32_768 ? 20_000 : taken + 1 });
  const port = freePort();
  notStrictEqual(port, blocker.addr.port);
});

Deno.test("freePort(span) returns the first of consecutive free ports and hands out none of them again", () => {
  const first = freePort(2);
  const after = Array.from({ length: 5 }, () => freePort());
  ok(!after.includes(first) && !after.includes(first + 1), `${first}, then ${after}`);
});
