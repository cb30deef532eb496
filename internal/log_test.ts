import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { createLogger, serializeError } from "./log.ts";

function capture(level?: "debug" | "info" | "warn" | "error") {
  const lines: string[] = [];
  const log = createLogger({ level, sink: (line) => lines.push(line), now: () => new Date(0) });
  return { log, records: () => lines.map((line) => JSON.parse(line)) };
}

Deno.test("createLogger() writes one JSON object per line with level, time, msg and fields", () => {
  const { log, records } = capture();
  log.info("Gateway reconciled", { gateway: "default/gw", durationMs: 4 });
  deepStrictEqual(records(), [{
    level: "info",
    time: "1970-01-01T00:00:00.000Z",
    msg: "Gateway reconciled",
    gateway: "default/gw",
    durationMs: 4,
  }]);
});

Deno.test("createLogger() drops lines below its level", () => {
  const { log, records } = capture("warn");
  log.debug("a");
  log.info("b");
  log.warn("c");
  log.error("d");
  deepStrictEqual(records().map((r) => r.msg), ["c", "d"]);
  strictEqual(log.enabled("info"), false);
  strictEqual(log.enabled("error"), true);
});

Deno.test("createLogger() child loggers add their fields to every line", () => {
  const { log, records } = capture();
  log.child({ component: "operator" }).child({ reconcileId: "r1" }).warn("Reload failed");
  deepStrictEqual(records()[0].component, "operator");
  deepStrictEqual(records()[0].reconcileId, "r1");
});

Deno.test("createLogger() serializes errors with their causes", () => {
  const { log, records } = capture();
  log.error("Cannot write status", { err: new Error("outer", { cause: new TypeError("inner") }) });
  deepStrictEqual(records()[0].err, {
    name: "Error",
    message: "outer",
    cause: { name: "TypeError", message: "inner" },
  });
  strictEqual(serializeError("plain"), "plain");
});

Deno.test("createLogger() survives fields that cannot be serialized", () => {
  const { log, records } = capture();
  log.info("x", { big: 1n });
  strictEqual(records()[0].logError, "fields are not serializable");
});
