/**
 * `deno run --allow-read tests/summary/print_summary.ts <dir>`: prints the closing lines of `scripts/test.sh` from
 * what its steps left in `<dir>`: `deno.xml` (JUnit of the TypeScript tests), `cargo.log`, `vtc.txt` (varnishtest's
 * per-file results), `conformance.log`, and `status` (one `<step> <exit status>` per line, for the steps that ran).
 *
 * @module
 */
import { formatSummary, summarizeRun } from "./tally.ts";

const dir = Deno.args[0];
if (!dir) {
  console.error("usage: print_summary.ts <dir>");
  Deno.exit(2);
}
const read = (name: string) => Deno.readTextFile(`${dir}/${name}`).catch(() => undefined);
const status: Record<string, number> = {};
for (const line of ((await read("status")) ?? "").split("\n")) {
  const [step, code] = line.trim().split(/\s+/);
  if (step && code !== undefined) status[step] = Number(code);
}
console.log(formatSummary(summarizeRun({
  denoJunit: await read("deno.xml"),
  cargoLog: await read("cargo.log"),
  vtcResults: await read("vtc.txt"),
  conformanceLog: await read("conformance.log"),
  status,
})));
