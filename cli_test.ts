import { deepStrictEqual, match, strictEqual, throws } from "node:assert/strict";
import { parseCommandLine, UsageError } from "./cli.ts";
import { LACQUER_VERSION } from "./internal/version.ts";

Deno.test("parseCommandLine() selects a subcommand with the global log level", () => {
  const operator = parseCommandLine(["operator", "--leader-elect", "--workers", "2"]);
  strictEqual(operator.command, "operator");
  if (operator.command === "operator") {
    deepStrictEqual(operator.global, { logLevel: "info" });
    strictEqual(operator.options.leaderElect, true);
    strictEqual(operator.options.workers, 2);
  }
  const chaperone = parseCommandLine(["--log-level", "debug", "chaperone", "--namespace", "ns", "--configmap", "gw"]);
  strictEqual(chaperone.command, "chaperone");
  if (chaperone.command === "chaperone") deepStrictEqual(chaperone.global, { logLevel: "debug" });
  deepStrictEqual(parseCommandLine(["version"]), { command: "version", global: { logLevel: "info" } });
});

Deno.test("parseCommandLine() answers --help on every command with exit code 0", () => {
  for (const argv of [["--help"], ["operator", "--help"], ["chaperone", "-h"], ["version", "--help"]]) {
    const parsed = parseCommandLine(argv);
    strictEqual(parsed.command, "exit");
    if (parsed.command !== "exit") continue;
    strictEqual(parsed.code, 0);
    match(parsed.output, /Usage: lacquer/);
  }
});

Deno.test("parseCommandLine() prints the version for --version", () => {
  const parsed = parseCommandLine(["--version"]);
  deepStrictEqual(parsed, { command: "exit", code: 0, output: `${LACQUER_VERSION}\n` });
});

Deno.test("parseCommandLine() rejects unknown flags, commands, arguments and values", () => {
  throws(() => parseCommandLine(["operator", "--bogus"]), (e) => e instanceof UsageError && /--bogus/.test(e.message));
  throws(() => parseCommandLine(["frobnicate"]), (e) => e instanceof UsageError && /frobnicate/.test(e.message));
  throws(() => parseCommandLine(["version", "extra"]), UsageError);
  throws(
    () => parseCommandLine(["--log-level", "loud", "operator"]),
    (e) => e instanceof UsageError && /loud/.test(e.message),
  );
});

Deno.test("parseCommandLine() shows help as a usage error when no command is given", () => {
  const parsed = parseCommandLine([]);
  strictEqual(parsed.command, "exit");
  if (parsed.command === "exit") strictEqual(parsed.code, 2);
});

Deno.test("parseCommandLine() reads render's repeatable -f, --output and --gateway", () => {
  const parsed = parseCommandLine(["render", "-f", "a.yaml", "--file", "dir", "-o", "json", "--gateway", "gw"]);
  deepStrictEqual(parsed, {
    command: "render",
    global: { logLevel: "info" },
    options: { file: ["a.yaml", "dir"], output: "json", gateway: "default/gw" },
  });
  throws(() => parseCommandLine(["render", "-f", "a", "--gateway", "a/b/c"]), UsageError);
  throws(() => parseCommandLine(["render"]), (e) => e instanceof UsageError && /-f/.test(e.message));
});

Deno.test("parseCommandLine() reads explain's method, URL, repeatable -H and --listener", () => {
  const parsed = parseCommandLine([
    "explain",
    "-f",
    "a.yaml",
    "GET",
    "http://a.example.com/x?y=1",
    "-H",
    "X-A: 1",
    "-H",
    "cookie:a=b",
    "--listener",
    "http",
  ]);
  strictEqual(parsed.command, "explain");
  if (parsed.command !== "explain") return;
  deepStrictEqual(parsed.options.header, [{ name: "X-A", value: "1" }, { name: "cookie", value: "a=b" }]);
  strictEqual(parsed.options.method, "GET");
  strictEqual(parsed.options.listener, "http");
  throws(() => parseCommandLine(["explain", "-f", "a", "get", "http://a/"]), UsageError);
  throws(() => parseCommandLine(["explain", "-f", "a", "GET", "http://a/", "-H", "novalue"]), UsageError);
});

Deno.test("parseCommandLine() reads explain without -f as the live cluster, and status", () => {
  const live = parseCommandLine(["explain", "--kubeconfig", "/k", "--gateway", "shop/gw", "GET", "http://a/"]);
  strictEqual(live.command, "explain");
  if (live.command === "explain") {
    deepStrictEqual(live.options.file, []);
    strictEqual(live.options.kubeconfig, "/k");
    strictEqual(live.options.gateway, "shop/gw");
  }
  deepStrictEqual(parseCommandLine(["status", "-n", "shop", "-o", "json"]), {
    command: "status",
    global: { logLevel: "info" },
    options: { namespace: "shop", output: "json" },
  });
  deepStrictEqual(parseCommandLine(["status"]), {
    command: "status",
    global: { logLevel: "info" },
    options: { output: "table" },
  });
  throws(() => parseCommandLine(["status", "-o", "xml"]), UsageError);
});
