import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { listenAddressSchema } from "./listen_address.ts";

Deno.test("listenAddressSchema parses [host]:port with an empty host meaning every address", () => {
  deepStrictEqual(listenAddressSchema.parse(":8080"), { hostname: "0.0.0.0", port: 8080 });
  deepStrictEqual(listenAddressSchema.parse("127.0.0.1:8901"), { hostname: "127.0.0.1", port: 8901 });
  deepStrictEqual(listenAddressSchema.parse("[::1]:80"), { hostname: "::1", port: 80 });
});

Deno.test("listenAddressSchema rejects addresses without a usable port", () => {
  strictEqual(listenAddressSchema.safeParse("8080").success, false);
  strictEqual(listenAddressSchema.safeParse(":70000").success, false);
});
