import { deepEqual } from "node:assert/strict";
import type { Gateway } from "./api_types.ts";
import { requestedAddresses } from "./addresses.ts";

Deno.test("requestedAddresses() takes IP addresses and refuses other types and values", async (t) => {
  const cases: {
    name: string;
    addresses?: Gateway["spec"]["addresses"];
    want: ReturnType<typeof requestedAddresses>;
  }[] = [
    { name: "none", want: { ips: [] } },
    { name: "any address (no value)", addresses: [{ type: "IPAddress" }], want: { ips: [] } },
    {
      name: "IPv4 and IPv6, a missing type means IPAddress, repeats once",
      addresses: [{ value: "10.0.0.1" }, { type: "IPAddress", value: "fd00::1" }, { value: "10.0.0.1" }],
      want: { ips: ["10.0.0.1", "fd00::1"] },
    },
    {
      name: "a type of another implementation",
      addresses: [{ type: "test/fake-invalid-type", value: "fake address teehee!" }, { value: "10.0.0.1" }],
      want: { problem: 'spec.addresses[0]: type "test/fake-invalid-type" is not supported, only IPAddress' },
    },
    {
      name: "a named address",
      addresses: [{ type: "NamedAddress", value: "pool-a" }],
      want: { problem: 'spec.addresses[0]: type "NamedAddress" is not supported, only IPAddress' },
    },
    {
      name: "not an IP",
      addresses: [{ value: "10.0.0.1" }, { value: "10.0.0.300" }],
      want: { problem: 'spec.addresses[1]: "10.0.0.300" is not an IP address' },
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const gateway: Gateway = {
        metadata: { name: "g", namespace: "n" },
        spec: { gatewayClassName: "c", listeners: [], ...(c.addresses ? { addresses: c.addresses } : {}) },
      };
      deepEqual(requestedAddresses(gateway), c.want);
    });
  }
});
