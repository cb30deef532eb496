import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { splitProblems } from "./demo_check.ts";

Deno.test("the demo's check accepts answers that fit the route and names each misfit", () => {
  deepStrictEqual(splitProblems("/", new Map([["echo-blue-a", 41], ["echo-green-b", 9]]), 50), []);
  deepStrictEqual(splitProblems("/green", new Map([["echo-green-b", 50]]), 50), []);
  deepStrictEqual(splitProblems("/green", new Map([["echo-green-b", 48], ["echo-blue-a", 2]]), 50), [
    "/green: 2 answers from blue, expected green only",
  ]);
  deepStrictEqual(splitProblems("/", new Map([["echo-blue-a", 50]]), 50), [
    "/: blue 50, green 0; the 80/20 split must reach both",
  ]);
  deepStrictEqual(splitProblems("/", new Map([["echo-blue-a", 10], ["echo-green-b", 40]]), 50), [
    "/: blue answered 10 of 50, expected about 80%",
  ]);
  strictEqual(splitProblems("/", new Map([["echo-blue-a", 40]]), 50)[0], "/: 10 of 50 requests were not answered");
});
