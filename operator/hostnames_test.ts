import { deepEqual, equal } from "node:assert/strict";
import { intersectHostnames, sameListenerHostname } from "./hostnames.ts";

Deno.test("intersectHostnames() follows the Gateway API intersection rules", async (t) => {
  const cases: [string | undefined, string[], string[]][] = [
    [undefined, [], ["*"]],
    ["a.example.com", [], ["a.example.com"]],
    [undefined, ["b.example.com", "a.example.com"], ["a.example.com", "b.example.com"]],
    ["a.example.com", ["a.example.com", "b.example.com"], ["a.example.com"]],
    ["*.example.com", ["a.example.com", "a.b.example.com", "example.com", "x.org"], [
      "a.b.example.com",
      "a.example.com",
    ]],
    ["a.example.com", ["*.example.com"], ["a.example.com"]],
    ["*.example.com", ["*.a.example.com"], ["*.a.example.com"]],
    ["*.a.example.com", ["*.example.com"], ["*.a.example.com"]],
    ["*.example.com", ["*.example.org"], []],
    ["example.com", ["*.example.com"], []],
  ];
  for (const [listener, routes, expected] of cases) {
    await t.step(`${listener} x ${routes.join(",")}`, () => deepEqual(intersectHostnames(listener, routes), expected));
  }
});

Deno.test("sameListenerHostname() treats absent as the empty hostname", () => {
  equal(sameListenerHostname(undefined, undefined), true);
  equal(sameListenerHostname("A.example.com", "a.example.com"), true);
  equal(sameListenerHostname(undefined, "a.example.com"), false);
});
