/**
 * Lacquer's own `deno lint` rules: structural conventions turned into lint errors.
 *
 * `lacquer/pure-module-io`: the modules named in {@linkcode PURE_MODULES}, and every module in a folder of
 * {@linkcode PURE_FOLDERS}, hold pure logic and may not do I/O, read clocks or randomness, or import client-node
 * values (types are fine). The list is explicit, so a file's name never has to bend to pass the rule: a new pure
 * module is added to it, or put in a pure folder.
 *
 * `lacquer/layer-imports`: `internal/` is the bottom layer; it imports nothing from the components above it
 * (`operator/`, `chaperone/`, `ghost/`, `vcl/`, `tools/`, the top-level `cli.ts` and `mod.ts`), so the dependencies
 * point one way. The wiring of the whole binary lives at the top, beside `mod.ts`.
 *
 * @module
 */

/** The repository root, with a trailing slash. */
const ROOT = new URL("../", import.meta.url).pathname;

/** Modules of pure logic, relative to the repository root. */
export const PURE_MODULES: ReadonlySet<string> = new Set([
  "chaperone/admin_handler.ts",
  "chaperone/cache_metrics.ts",
  "chaperone/ghost_invalidation_requests.ts",
  "chaperone/hitch_config.ts",
  "chaperone/kube_views.ts",
  "chaperone/merge_endpoints.ts",
  "chaperone/metrics.ts",
  "chaperone/options.ts",
  "chaperone/readiness.ts",
  "chaperone/tls_client_hello.ts",
  "chaperone/varnishd_args.ts",
  "cli.ts",
  "ghost/contract/ghost_json.ts",
  "ghost/contract/json_schemas.ts",
  "ghost/contract/parse_contract.ts",
  "ghost/contract/route_parts.ts",
  "ghost/contract/routing_json.ts",
  "ghost/contract/routing_shards.ts",
  "internal/backoff.ts",
  "internal/content_hash.ts",
  "internal/data_plane_rejections.ts",
  "internal/kube/event_series.ts",
  "internal/listen_address.ts",
  "internal/metrics.ts",
  "internal/names.ts",
  "internal/routing_config_map.ts",
  "internal/zod_issues.ts",
  "operator/admin_handlers.ts",
  "operator/admin_token.ts",
  "operator/api_types.ts",
  "operator/aligned_walk.ts",
  "operator/attach.ts",
  "operator/attach_routes.ts",
  "operator/children.ts",
  "operator/compact_objects.ts",
  "operator/dependencies.ts",
  "operator/features.ts",
  "operator/frontend_validation.ts",
  "operator/gateway_config.ts",
  "operator/gateway_parameters.ts",
  "operator/hostnames.ts",
  "operator/invalidation/api_request.ts",
  "operator/invalidation/cache_invalidation.ts",
  "operator/invalidation/phase.ts",
  "operator/invalidation/rate_limiter.ts",
  "operator/invalidation/results.ts",
  "operator/invalidation/scope.ts",
  "operator/admission/review.ts",
  "operator/admission/validate.ts",
  "operator/label_selector.ts",
  "operator/listeners.ts",
  "operator/options.ts",
  "operator/regex_check.ts",
  "operator/route_table.ts",
  "operator/routing_text.ts",
  "operator/rules.ts",
  "operator/snapshot.ts",
  "operator/snapshot_index.ts",
  "operator/tls_bundles.ts",
  "operator/translate.ts",
  "operator/translation_memo.ts",
  "operator/vhost_totals.ts",
  "operator/vhosts.ts",
  "tests/chaos/answer_check.ts",
  "tests/chaos/verdict.ts",
  "tools/explain.ts",
  "tools/options.ts",
  "tools/render.ts",
  "tools/route_match.ts",
  "tools/status.ts",
  "tools/explain.ts",
  "tools/options.ts",
  "tools/render.ts",
  "tools/route_match.ts",
  "vcl/generate_main_vcl.ts",
]);

/** Folders whose every module (tests aside) is pure. */
export const PURE_FOLDERS: readonly string[] = [
  "internal/invalidation/",
  "operator/cache_policy/",
  "operator/ingress/",
  "operator/status/",
];

/** Where `internal/` may import from, besides itself: the test helpers (from its tests). */
const BELOW_OR_BESIDE = ["internal/", "tests/"];

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

/** Returns a file's path relative to the repository root, or undefined when it lies outside. */
function repoPath(filename: string): string | undefined {
  const normalized = filename.replaceAll("\\", "/");
  return normalized.startsWith(ROOT) ? normalized.slice(ROOT.length) : undefined;
}

/** Tells whether a file must stay free of I/O: listed in {@linkcode PURE_MODULES}, or in a {@linkcode PURE_FOLDERS} one. */
export function isPureModule(filename: string): boolean {
  const path = repoPath(filename);
  if (path === undefined || !path.endsWith(".ts") || path.endsWith("_test.ts")) return false;
  return PURE_MODULES.has(path) ||
    PURE_FOLDERS.some((folder) => path.startsWith(folder) && !path.includes("/testdata/"));
}

/**
 * Tells which module outside `internal/` a module of `internal/` reaches with an import specifier, if any.
 *
 * @param filename The importing file.
 * @param specifier The import specifier.
 * @returns The imported path, relative to the repository root, or undefined when the import is allowed.
 */
export function upperLayerImport(filename: string, specifier: string): string | undefined {
  const from = repoPath(filename);
  if (from === undefined || !from.startsWith("internal/") || !specifier.startsWith(".")) return undefined;
  const target = repoPath(new URL(specifier, `file://${ROOT}${from}`).pathname);
  if (target === undefined || BELOW_OR_BESIDE.some((folder) => target.startsWith(folder))) return undefined;
  return target;
}

const MESSAGE = "Pure module does I/O: move this to a shell module or pass the value in as an argument";

const pureModuleIo: Deno.lint.Rule = {
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
};

const layerImports: Deno.lint.Rule = {
  create(context) {
    if (!repoPath(context.filename)?.startsWith("internal/")) return {};
    const check = (node: Deno.lint.Node, source: { value: string } | null | undefined) => {
      const layer = source ? upperLayerImport(context.filename, source.value) : undefined;
      if (layer === undefined) return;
      context.report({
        node,
        message: `internal/ imports ${layer}: the shared layer may not depend on the components above it ` +
          "(move the code into internal/, or the wiring up beside mod.ts)",
      });
    };
    return {
      ImportDeclaration: (node) => check(node, node.source),
      ExportNamedDeclaration: (node) => check(node, node.source),
      ExportAllDeclaration: (node) => check(node, node.source),
    };
  },
};

const plugin: Deno.lint.Plugin = {
  name: "lacquer",
  rules: { "pure-module-io": pureModuleIo, "layer-imports": layerImports },
};

export default plugin;
