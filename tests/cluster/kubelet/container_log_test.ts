import { strictEqual } from "node:assert/strict";
import { filterLog, formatLogLine } from "./container_log.ts";

const stored = [
  formatLogLine(new Date("2026-01-01T00:00:00.100Z"), { stream: "stdout", text: "one" }),
  formatLogLine(new Date("2026-01-01T00:00:01.200Z"), { stream: "stderr", text: "two words" }),
  formatLogLine(new Date("2026-01-01T00:00:02.300Z"), { stream: "stdout", text: "three" }),
].join("");

Deno.test("formatLogLine() writes time with nanoseconds, stream and text", () => {
  strictEqual(stored.split("\n")[0], "2026-01-01T00:00:00.100000000Z stdout one");
});

Deno.test("filterLog() returns the texts, filtered by sinceTime and tailLines", () => {
  strictEqual(filterLog(stored, {}), "one\ntwo words\nthree\n");
  strictEqual(filterLog(stored, { since: new Date("2026-01-01T00:00:01Z") }), "two words\nthree\n");
  strictEqual(filterLog(stored, { tailLines: 1 }), "three\n");
  strictEqual(filterLog(stored, { tailLines: 0 }), "");
  strictEqual(filterLog(stored, { limitBytes: 5 }), "one\nt");
});

Deno.test("filterLog() prefixes timestamps on request", () => {
  strictEqual(filterLog(stored, { tailLines: 1, timestamps: true }), "2026-01-01T00:00:02.300000000Z three\n");
});
