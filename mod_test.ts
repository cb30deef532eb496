import { match, strictEqual } from "node:assert/strict";
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
