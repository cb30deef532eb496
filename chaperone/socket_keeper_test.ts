import { deepEqual } from "node:assert/strict";
import { keeperEnv } from "./socket_keeper.ts";

Deno.test("keeperEnv: no socket or no ports, no preload", () => {
  deepEqual(keeperEnv({ preload: "/x.so", ports: [80] }), {});
  deepEqual(keeperEnv({ socket: "", preload: "/x.so", ports: [80] }), {});
  deepEqual(keeperEnv({ socket: "/k.sock", preload: "/x.so", ports: [] }), {});
});

Deno.test("keeperEnv: ports sorted once each", () => {
  deepEqual(keeperEnv({ socket: "/k.sock", preload: "/x.so", ports: [8443, 80, 80] }).LACQUER_KEEPER_PORTS, "80,8443");
});
