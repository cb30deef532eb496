import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import plugin, { isPureModule, PURE_MODULES, upperLayerImport } from "./lint_plugin.ts";

const root = new URL("../", import.meta.url).pathname;

function lint(path: string, source: string): string[] {
  return Deno.lint.runPlugin(plugin, `${root}${path}`, source).map((d) => d.message);
}

function pureFindings(path: string, source: string): string[] {
  return lint(path, source).map((m) => m.split("as an argument (")[1].slice(0, -1));
}

Deno.test("isPureModule() holds for the listed modules and the pure folders only", () => {
  strictEqual(isPureModule(`${root}operator/translate.ts`), true);
  strictEqual(isPureModule(`${root}ghost/contract/parse_contract.ts`), true);
  strictEqual(isPureModule(`${root}chaperone/merge_endpoints_test.ts`), false);
  strictEqual(isPureModule(`${root}chaperone/config_map_watcher.ts`), false);
  strictEqual(isPureModule(`${root}chaperone/varnishd_supervisor.ts`), false);
  strictEqual(isPureModule("/elsewhere/operator/translate.ts"), false);
  strictEqual(isPureModule(`${root}operator/status/gateway.ts`), true);
  strictEqual(isPureModule(`${root}operator/status/gateway_test.ts`), false);
});

Deno.test("every module on the pure list exists (a rename must update the list)", () => {
  for (const path of PURE_MODULES) ok(Deno.statSync(`${root}${path}`).isFile, path);
});

Deno.test("pure-module-io reports I/O, clocks, randomness and client-node values in pure modules", () => {
  const found = pureFindings(
    "operator/translate.ts",
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

Deno.test("pure-module-io is silent in modules not on the list", () => {
  deepStrictEqual(lint("chaperone/run_chaperone.ts", `Deno.serve(() => new Response("ok"));`), []);
});

Deno.test("upperLayerImport() names the component an internal/ module reaches into", () => {
  strictEqual(upperLayerImport(`${root}internal/cli.ts`, "../operator/mod.ts"), "operator/mod.ts");
  strictEqual(
    upperLayerImport(`${root}internal/kube/reflector.ts`, "../../ghost/contract/mod.ts"),
    "ghost/contract/mod.ts",
  );
  strictEqual(upperLayerImport(`${root}internal/x.ts`, "../tools/render.ts"), "tools/render.ts");
  strictEqual(upperLayerImport(`${root}internal/x.ts`, "../cli.ts"), "cli.ts");
  strictEqual(upperLayerImport(`${root}internal/x_test.ts`, "../tests/cluster/mod.ts"), undefined);
  strictEqual(upperLayerImport(`${root}internal/kube/reflector.ts`, "../log.ts"), undefined);
  strictEqual(upperLayerImport(`${root}internal/log.ts`, "zod"), undefined);
  strictEqual(upperLayerImport(`${root}operator/translate.ts`, "../chaperone/mod.ts"), undefined);
});

Deno.test("layer-imports reports imports and re-exports from upper layers in internal/ only", () => {
  const source = `import { a } from "../chaperone/mod.ts";
import type { B } from "../operator/mod.ts";
export { c } from "../ghost/contract/mod.ts";
export * from "./log.ts";
import { d } from "./names.ts";`;
  deepStrictEqual(lint("internal/x.ts", source).map((m) => m.split(":")[0]), [
    "internal/ imports chaperone/mod.ts",
    "internal/ imports operator/mod.ts",
    "internal/ imports ghost/contract/mod.ts",
  ]);
  deepStrictEqual(lint("operator/x.ts", source), []);
});
