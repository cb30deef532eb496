import { deepEqual, equal, rejects } from "node:assert/strict";
import { READMES, renderFigures, updateReadmes } from "./bench_figures.ts";

const ROOT = new URL("../", import.meta.url);
const RESULTS = "# `deno task bench:x`\n\nMeasured now.\n\n## Tail\n\np99 2 ms\n";
const read = (path: string) =>
  path === "x_results.md" ? Promise.resolve(RESULTS) : Promise.reject(new Error(`no ${path}`));

Deno.test("a figure section is rewritten from its results file, the text around it kept", async () => {
  const stale = "intro\n\n<!-- figures from x_results.md -->\n\np99 1 ms, typed\n\n<!-- end figures -->\n\nafter\n";
  const fresh = await renderFigures(stale, read);
  equal(
    fresh,
    "intro\n\n<!-- figures from x_results.md -->\n\nMeasured now.\n\n#### Tail\n\np99 2 ms\n\n<!-- end figures -->\n\nafter\n",
  );
  equal(await renderFigures(fresh, read), fresh, "regenerating again changes nothing");
});

Deno.test("a section whose results file is missing is an error naming the file", async () => {
  await rejects(
    renderFigures("<!-- figures from gone.md -->\n<!-- end figures -->\n", read),
    /Cannot read the results file gone\.md/,
  );
});

Deno.test("the READMEs' figure sections match the stored benchmark output", async () => {
  deepEqual(await updateReadmes(ROOT, true), [], "run `deno task bench:figures`");
});

Deno.test("no README states a latency percentile outside a figure section", async () => {
  for (const name of READMES) {
    const text = (await Deno.readTextFile(new URL(name, ROOT)))
      .replace(/<!-- figures from \S+ -->[\s\S]*?<!-- end figures -->/g, "");
    deepEqual(text.match(/\bp(50|90|99)\s*(≈|=|of)?\s*\d/g) ?? [], [], `${name} has a figure typed by hand`);
  }
});
