import { strictEqual } from "node:assert/strict";
import { IpAllocator } from "./ip_allocator.ts";

Deno.test("IpAllocator.allocate() gives each owner one stable address and does not reuse freed ones at once", () => {
  const a = new IpAllocator("10.244");
  strictEqual(a.allocate("x"), "10.244.0.2");
  strictEqual(a.allocate("y"), "10.244.0.3");
  strictEqual(a.allocate("x"), "10.244.0.2");
  a.release("x");
  strictEqual(a.allocate("z"), "10.244.0.4");
});

Deno.test("IpAllocator.allocate() skips .0 and .255 addresses", () => {
  const a = new IpAllocator("10.244");
  let last = "";
  for (let i = 0; i < 260; i++) last = a.allocate(`p${i}`);
  strictEqual(last, "10.244.1.7");
});
