import { deepStrictEqual, strictEqual } from "node:assert/strict";
import plugin, { isPureModule } from "./lint_plugin.ts";

function lint(filename: string, source: string): string[] {
  return Deno.lint.runPlugin(plugin, filename, source).map((d) => d.message.split("as an argument (")[1].slice(0, -1));
}

Deno.test("isPureModule() exempts shell modules, tests and files outside the pure folders", () => {
  strictEqual(isPureModule("/repo/operator/translate.ts"), true);
  strictEqual(isPureModule("/repo/ghost/contract/parse_contract.ts"), true);
  strictEqual(isPureModule("/repo/chaperone/merge_endpoints_test.ts"), false);
  strictEqual(isPureModule("/repo/chaperone/config_map_watcher.ts"), false);
  strictEqual(isPureModule("/repo/chaperone/supervisor.ts"), false);
  strictEqual(isPureModule("/repo/operator/mod.ts"), false);
  strictEqual(isPureModule("/repo/internal/log.ts"), false);
  strictEqual(isPureModule("/repo/operator/testdata/x.ts"), false);
});

Deno.test("pure-module-io reports I/O, clocks, randomness and client-node values in pure modules", () => {
  const found = lint(
    "/repo/operator/translate.ts",
    `import * as fs from "node:fs";
import type { V1Pod } from "@kubernetes/client-node";
import { CoreV1Api } from "@kubernetes/client-node";
export function f(p: V1Pod) {
  Deno.readTextFileSync("x"); fetch("http://x"); setTimeout(() => {}, 1);
  return [Date.now(), Math.random(), new Date(), new Date(0), fs, CoreV1Api, p];
}`,
  );
  deepStrictEqual(found, [
    'imports "node:fs"',
    'imports "@kubernetes/client-node"',
    "uses Deno",
    "calls fetch",
    "calls setTimeout",
    "calls Date.now",
    "calls Math.random",
    "reads the clock with new Date()",
  ]);
});

Deno.test("pure-module-io is silent in shell modules", () => {
  deepStrictEqual(lint("/repo/chaperone/admin_server.ts", `Deno.serve(() => new Response("ok"));`), []);
});
