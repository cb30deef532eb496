/**
 * `deno task bench:figures`: the READMEs' benchmark figures come from the stored benchmark output, never typed by
 * hand. A README marks a section with `<!-- figures from <results file> -->` … `<!-- end figures -->` (the file's path
 * from the repository root); this rewrites each section from that file (its title dropped, its headings two levels
 * lower), or with `--check` only says which sections differ. Each bench writes its results file (format it with
 * `deno fmt` before running this).
 *
 * @module
 */

/** The READMEs with figure sections, from the repository root. */
export const READMES = [
  "README.md",
  "chaperone/README.md",
  "ghost/README.md",
  "images/README.md",
  "operator/README.md",
  "tests/README.md",
  "vcl/README.md",
];

const SECTION = /<!-- figures from (\S+) -->[\s\S]*?<!-- end figures -->/g;

/**
 * Turns a results file into the text of a README section: the title line dropped, headings two levels lower.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * const results = "# `deno task bench:x`\n\nMeasured now.\n\n## Tail\n\np99 1 ms\n";
 * equal(figuresSection(results), "Measured now.\n\n#### Tail\n\np99 1 ms");
 * ```
 * @param results The results file's text.
 * @returns The section's text.
 */
export function figuresSection(results: string): string {
  return results.replace(/^# .*\n+/, "").replace(/^(#+) /gm, "$1## ").trimEnd();
}

/**
 * Rewrites every figure section of a README from its results file.
 *
 * @param readme The README's text.
 * @param read Reads a results file by its path from the repository root.
 * @returns The README's text with every section regenerated.
 * @throws {Error} When a results file cannot be read.
 */
export async function renderFigures(readme: string, read: (path: string) => Promise<string>): Promise<string> {
  const sections = [...readme.matchAll(SECTION)];
  let out = "";
  let at = 0;
  for (const m of sections) {
    const text = await read(m[1]).catch((err) => {
      throw new Error(`Cannot read the results file ${m[1]} a README's figures come from: ${err.message}`);
    });
    // blank lines around the text, as `deno fmt` leaves them
    out += readme.slice(at, m.index) +
      `<!-- figures from ${m[1]} -->\n\n${figuresSection(text)}\n\n<!-- end figures -->`;
    at = m.index + m[0].length;
  }
  return out + readme.slice(at);
}

/**
 * Regenerates (or with `check`, compares) the figure sections of {@linkcode READMES}.
 *
 * @param root The repository root.
 * @param check Only report.
 * @returns The READMEs whose sections were (or, with `check`, are) out of date.
 */
export async function updateReadmes(root: URL, check: boolean): Promise<string[]> {
  const stale: string[] = [];
  for (const name of READMES) {
    const path = new URL(name, root);
    const text = await Deno.readTextFile(path);
    const next = await renderFigures(text, (p) => Deno.readTextFile(new URL(p, root)));
    if (next === text) continue;
    stale.push(name);
    if (!check) await Deno.writeTextFile(path, next);
  }
  return stale;
}

if (import.meta.main) {
  const check = Deno.args.includes("--check");
  const stale = await updateReadmes(new URL("../", import.meta.url), check);
  for (const name of stale) console.log(`${name}: figures ${check ? "out of date" : "regenerated"}`);
  if (check && stale.length > 0) {
    console.error("Run `deno task bench:figures` to regenerate them from the stored benchmark output.");
    Deno.exit(1);
  }
}
