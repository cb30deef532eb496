import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { ghostInvalidationRequests, MAX_ENTRIES_HEADER_BYTES } from "./ghost_invalidation_requests.ts";

const BASE = { namespace: "shop", hostname: "shop.example.com" };

Deno.test("ghostInvalidationRequests() sends each kind with its entries and soft flag", () => {
  deepStrictEqual(ghostInvalidationRequests({ ...BASE, soft: false, urls: ["/a", "/b"] }), [{
    "X-Ghost-Invalidate-Namespace": "shop",
    "X-Ghost-Invalidate-Host": "shop.example.com",
    "X-Ghost-Invalidate-Kind": "url",
    "X-Ghost-Invalidate-Soft": "false",
    "X-Ghost-Invalidate-Entries": "/a /b",
  }]);
  equal(ghostInvalidationRequests({ ...BASE, soft: true, prefixes: ["/c/"] })[0]["X-Ghost-Invalidate-Kind"], "prefix");
  equal(ghostInvalidationRequests({ ...BASE, soft: true, tags: ["t"] })[0]["X-Ghost-Invalidate-Soft"], "true");
  const all = ghostInvalidationRequests({ ...BASE, soft: true, all: true });
  equal(all.length, 1);
  equal(all[0]["X-Ghost-Invalidate-Kind"], "all");
  equal(all[0]["X-Ghost-Invalidate-Entries"], "");
});

Deno.test("ghostInvalidationRequests() splits long lists below the header budget and loses no entry", () => {
  const urls = Array.from({ length: 256 }, (_, i) => `/${String(i).padStart(3, "0")}/${"p".repeat(2000)}`);
  const requests = ghostInvalidationRequests({ ...BASE, soft: true, urls });
  ok(requests.length > 1);
  for (const r of requests) ok(r["X-Ghost-Invalidate-Entries"].length <= MAX_ENTRIES_HEADER_BYTES);
  deepStrictEqual(requests.flatMap((r) => r["X-Ghost-Invalidate-Entries"].split(" ")), urls);
});
