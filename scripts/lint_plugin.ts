/**
 * Lacquer's own `deno lint` rules: structural conventions from STYLE.md turned into lint errors.
 *
 * `lacquer/pure-module-io`: modules holding pure logic (in operator/, chaperone/, vcl/ and ghost/contract/) may not
 * do I/O, read clocks or randomness, or import client-node values (types are fine). Shell modules are exempt by
 * name: `mod.ts`, tests, benchmarks, and files named for what they touch (`*_watcher.ts`, `*_client.ts`,
 * `*_server.ts`, `*_writer.ts`, `*_reader.ts`, `*_reconciler.ts`, `*_controller.ts`, `supervisor.ts`,
 * `run_*.ts`, `export_*.ts`).
 *
 * @module
 */

const PURE_FOLDERS = /\/(operator|chaperone|vcl|ghost\/contract)\//;
const SHELL_FILE =
  /(^mod\.ts|_test\.ts|_bench\.ts|_watcher\.ts|_client\.ts|_server\.ts|_writer\.ts|_reader\.ts|_reconciler\.ts|_controller\.ts|^supervisor\.ts|^run_.*\.ts|^export_.*\.ts)$/;
const IO_MODULES = new Set([
  "node:fs",
  "node:fs/promises",
  "node:net",
  "node:child_process",
  "node:http",
  "node:https",
  "node:dgram",
  "node:process",
  "@kubernetes/client-node",
]);
const IMPURE_GLOBALS = new Set(["fetch", "setTimeout", "setInterval", "clearTimeout", "clearInterval"]);
const IMPURE_MEMBERS: Record<string, Set<string>> = {
  Date: new Set(["now"]),
  Math: new Set(["random"]),
  performance: new Set(["now"]),
  crypto: new Set(["randomUUID", "getRandomValues"]),
};

/** Tells whether a file must stay free of I/O. */
export function isPureModule(filename: string): boolean {
  const normalized = filename.replaceAll("\\", "/");
  if (!PURE_FOLDERS.test(normalized) || /\/testdata\//.test(normalized)) return false;
  const base = normalized.slice(normalized.lastIndexOf("/") + 1);
  return base.endsWith(".ts") && !SHELL_FILE.test(base);
}

const MESSAGE = "Pure module does I/O: move this to a shell module (named *_watcher, *_client, *_server, " +
  "*_writer, supervisor, ...) or pass the value in as an argument";

const plugin: Deno.lint.Plugin = {
  name: "lacquer",
  rules: {
    "pure-module-io": {
      create(context) {
        if (!isPureModule(context.filename)) return {};
        return {
          ImportDeclaration(node) {
            if (node.importKind === "type") return;
            if (!IO_MODULES.has(node.source.value)) return;
            const valueSpecifiers = node.specifiers.filter((s) =>
              !(s.type === "ImportSpecifier" && s.importKind === "type")
            );
            if (valueSpecifiers.length > 0 || node.specifiers.length === 0) {
              context.report({ node, message: `${MESSAGE} (imports "${node.source.value}")` });
            }
          },
          Identifier(node) {
            if (node.name === "Deno") context.report({ node, message: `${MESSAGE} (uses Deno)` });
          },
          CallExpression(node) {
            const callee = node.callee;
            if (callee.type === "Identifier" && IMPURE_GLOBALS.has(callee.name)) {
              context.report({ node, message: `${MESSAGE} (calls ${callee.name})` });
            }
            if (
              callee.type === "MemberExpression" && callee.object.type === "Identifier" &&
              callee.property.type === "Identifier" && IMPURE_MEMBERS[callee.object.name]?.has(callee.property.name)
            ) {
              context.report({ node, message: `${MESSAGE} (calls ${callee.object.name}.${callee.property.name})` });
            }
          },
          NewExpression(node) {
            if (node.callee.type === "Identifier" && node.callee.name === "Date" && node.arguments.length === 0) {
              context.report({ node, message: `${MESSAGE} (reads the clock with new Date())` });
            }
          },
        };
      },
    },
  },
};

export default plugin;
