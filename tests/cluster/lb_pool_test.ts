import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { pickAddress, readyBackends } from "./lb_pool.ts";

Deno.test("pickAddress() keeps a Service's current address and otherwise takes the lowest free one", () => {
  strictEqual(pickAddress({ prefix: "10.250.0.", used: new Set(), current: "10.250.0.7" }), "10.250.0.7");
  strictEqual(pickAddress({ prefix: "10.250.0.", used: new Set(["10.250.0.7"]), current: "10.250.0.7" }), "10.250.0.1");
  strictEqual(pickAddress({ prefix: "10.250.0.", used: new Set(), current: "192.168.0.1" }), "10.250.0.1");
});

Deno.test("readyBackends() lists ready endpoints of the named port across slices", () => {
  const slices = [
    {
      ports: [{ name: "http", port: 3000 }, { name: "admin", port: 9000 }],
      endpoints: [
        { addresses: ["10.244.0.3"], conditions: { ready: true } },
        { addresses: ["10.244.0.4"], conditions: { ready: false } },
      ],
    },
    { ports: [{ name: "http", port: 3000 }], endpoints: [{ addresses: ["10.244.0.2"] }] },
    { ports: [{ name: "other", port: 1 }], endpoints: [{ addresses: ["10.244.0.9"] }] },
  ];
  deepStrictEqual(readyBackends(slices, "http"), [
    { address: "10.244.0.2", port: 3000 },
    { address: "10.244.0.3", port: 3000 },
  ]);
});
