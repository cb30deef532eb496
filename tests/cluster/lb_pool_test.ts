import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { assignAddresses, pickAddress } from "./lb_pool.ts";

Deno.test("pickAddress() keeps a Service's current address and otherwise takes the lowest free one", () => {
  strictEqual(pickAddress({ prefix: "10.250.0.", used: new Set(), current: "10.250.0.7" }), "10.250.0.7");
  strictEqual(pickAddress({ prefix: "10.250.0.", used: new Set(["10.250.0.7"]), current: "10.250.0.7" }), "10.250.0.1");
  strictEqual(pickAddress({ prefix: "10.250.0.", used: new Set(), current: "192.168.0.1" }), "10.250.0.1");
});

Deno.test("assignAddresses() gives every requested address or none, and says why", async (t) => {
  const prefix = "10.250.0.";
  const used = new Set(["10.250.0.1"]);
  const cases: { name: string; requested: string[]; want: ReturnType<typeof assignAddresses> }[] = [
    { name: "nothing requested", requested: [], want: { addresses: ["10.250.0.2"] } },
    {
      name: "free addresses",
      requested: ["10.250.0.200", "10.250.0.9"],
      want: { addresses: ["10.250.0.200", "10.250.0.9"] },
    },
    {
      name: "one outside the pool",
      requested: ["192.0.2.1", "10.250.0.200"],
      want: { problem: "192.0.2.1 is not in the pool 10.250.0.0/24" },
    },
    { name: "IPv6", requested: ["fd00::1"], want: { problem: "fd00::1 is not in the pool 10.250.0.0/24" } },
    {
      name: "the network address",
      requested: ["10.250.0.0"],
      want: { problem: "10.250.0.0 is not in the pool 10.250.0.0/24" },
    },
    {
      name: "a longer prefix",
      requested: ["10.250.0.12.5"],
      want: { problem: "10.250.0.12.5 is not in the pool 10.250.0.0/24" },
    },
    { name: "taken", requested: ["10.250.0.1"], want: { problem: "10.250.0.1 is used by another Service" } },
  ];
  for (const c of cases) {
    await t.step(c.name, () => deepStrictEqual(assignAddresses({ prefix, used, requested: c.requested }), c.want));
  }
});
