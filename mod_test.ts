import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import { LACQUER_VERSION } from "./internal/version.ts";

const root = new URL(".", import.meta.url);

async function lacquer(...args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", new URL("mod.ts", root).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

Deno.test("lacquer version prints the version from deno.json", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
  strictEqual(config.version, LACQUER_VERSION);
  const run = await lacquer("version");
  strictEqual(run.code, 0);
  strictEqual(run.stdout.trim(), LACQUER_VERSION);
});

Deno.test("lacquer exits with code 2 and a clear message on an unknown flag", async () => {
  const run = await lacquer("operator", "--no-such-flag");
  strictEqual(run.code, 2);
  match(run.stderr, /unknown option '--no-such-flag'/);
});

Deno.test("lacquer --help lists the subcommands", async () => {
  const run = await lacquer("--help");
  strictEqual(run.code, 0);
  match(run.stdout, /operator/);
  match(run.stdout, /chaperone/);
});

Deno.test("lacquer render prints YAML or JSON and exits 0, 1 on bad input, 2 on bad usage", async () => {
  const shop = new URL("tools/testdata/shop", root).pathname;
  const yaml = await lacquer("render", "-f", shop);
  strictEqual(yaml.code, 0);
  match(yaml.stdout, /^gateways:\n {2}- gateway: shop\/shop\n/);
  match(yaml.stderr, /ignored .*Deployment shop\/catalog/);
  const json = await lacquer("render", "-f", shop, "--output", "json", "--gateway", "shop/shop");
  strictEqual(json.code, 0);
  strictEqual(JSON.parse(json.stdout).gateways[0].routing.version, 1);
  const missing = await lacquer("render", "-f", "/no/such/dir");
  strictEqual(missing.code, 1);
  match(missing.stderr, /^lacquer render: Cannot read \/no\/such\/dir: /m);
  const noFile = await lacquer("render");
  strictEqual(noFile.code, 2);
  match(noFile.stderr, /at least one -f/);
  strictEqual((await lacquer("render", "-f", shop, "-o", "xml")).code, 2);
});

Deno.test("lacquer explain prints the decision and exits 0, 1 on bad input, 2 on bad usage", async () => {
  const shop = new URL("tools/testdata/shop", root).pathname;
  const ok = await lacquer(
    "explain",
    "-f",
    shop,
    "-o",
    "json",
    "GET",
    "http://shop.example.com/catalog",
    "-H",
    "x-beta:yes",
  );
  strictEqual(ok.code, 0);
  const doc = JSON.parse(ok.stdout);
  strictEqual(doc.selected.rule, 1);
  strictEqual(doc.listener, "http");
  const noSuchListener = await lacquer("explain", "-f", shop, "--listener", "nope", "GET", "http://a/");
  strictEqual(noSuchListener.code, 1);
  match(noSuchListener.stderr, /--listener nope/);
  strictEqual((await lacquer("explain", "-f", shop, "GET", "ftp://a/")).code, 2);
  strictEqual((await lacquer("explain", "-f", shop, "GET")).code, 2);
});

/** The modules loaded with `paths` (relative to mod.ts), by their static imports, in the graph of mod.ts. */
async function staticModules(...paths: string[]): Promise<string[]> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL("mod.ts", root).pathname],
    stdout: "piped",
  }).output();
  strictEqual(output.code, 0);
  const graph: {
    modules: { specifier: string; dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[] }[];
    redirects: Record<string, string>;
  } = JSON.parse(new TextDecoder().decode(output.stdout));
  const modules = new Map(graph.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const pending = paths.map((path) => new URL(path, root).href);
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const specifier = graph.redirects[next] ?? next;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    // Type-only imports are not loaded at run time, and dynamic ones only when their code runs.
    for (const dependency of modules.get(specifier)?.dependencies ?? []) {
      if (dependency.code && !dependency.isDynamic) pending.push(dependency.code.specifier);
    }
  }
  return [...seen];
}

Deno.test("lacquer chaperone and operator load no @kubernetes/client-node before a kubeconfig is named", async () => {
  // The in-cluster service account needs none of it, and it costs about half a CPU-second of every start.
  for (const subcommand of ["chaperone", "operator"]) {
    // What `lacquer <subcommand>` loads before it runs: mod.ts's static imports and the subcommand's.
    const modules = await staticModules("mod.ts", `${subcommand}/mod.ts`);
    ok(modules.some((m) => m.endsWith(`/${subcommand}/run_${subcommand}.ts`)), `${subcommand}: ${modules.length}`);
    deepStrictEqual(modules.filter((m) => m.includes("@kubernetes/client-node")), [], subcommand);
  }
  // The walk does reach npm packages: a kubeconfig file is read through client-node, imported when one is named.
  ok((await staticModules("internal/kube/kubeconfig.ts")).some((m) => m.includes("@kubernetes/client-node")));
});
