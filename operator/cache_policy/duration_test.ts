import { equal } from "node:assert/strict";
import { durationSeconds } from "./duration.ts";

Deno.test("durationSeconds() converts Gateway API durations to whole seconds and explains the rest", () => {
  const cases: [string, number | RegExp][] = [
    ["0s", 0],
    ["10s", 10],
    ["2m", 120],
    ["1h30m", 5400],
    ["1h0m5s", 3605],
    ["2000ms", 2],
    ["1s500ms", /whole seconds/],
    ["1500ms", /whole seconds/],
    ["", /duration such as/],
    ["10", /duration such as/],
    ["1d", /duration such as/],
    ["-1s", /duration such as/],
    ["1.5s", /duration such as/],
    ["123456s", /duration such as/],
    ["1h1m1s1ms1h", /duration such as/],
  ];
  for (const [text, expected] of cases) {
    const got = durationSeconds(text);
    if (typeof expected === "number") equal(got, expected, text);
    else equal(typeof got === "string" && expected.test(got), true, `${text}: ${got}`);
  }
});
