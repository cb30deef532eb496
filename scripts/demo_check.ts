/**
 * What the demo's traffic must show (`deno task demo --check`): the route deploy/demo/demo.yaml sends `/green` to the
 * green echo pods only and splits every other path 80/20 between blue and green.
 *
 * @module
 */

/**
 * Lists what is wrong with the answers to `requests` requests for one of the demo's paths.
 *
 * @example Usage
 * ```ts
 * import { splitProblems } from "./demo_check.ts";
 * splitProblems("/green", new Map([["echo-green-1", 50]]), 50); // []
 * ```
 *
 * @param path `/` (the weighted split) or `/green` (green only).
 * @param counts Answers per pod name (`echo-blue-…`, `echo-green-…`).
 * @param requests How many requests were sent.
 * @returns One line per problem; empty when the answers fit the route.
 */
export function splitProblems(path: "/" | "/green", counts: ReadonlyMap<string, number>, requests: number): string[] {
  const problems: string[] = [];
  const answered = [...counts.values()].reduce((a, b) => a + b, 0);
  if (answered < requests) problems.push(`${path}: ${requests - answered} of ${requests} requests were not answered`);
  const byVersion = (version: string) =>
    [...counts].filter(([pod]) => pod.startsWith(`echo-${version}-`)).reduce((sum, [, n]) => sum + n, 0);
  const [blue, green] = [byVersion("blue"), byVersion("green")];
  if (blue + green < answered) problems.push(`${path}: ${answered - blue - green} answers from neither blue nor green`);
  if (path === "/green" && blue > 0) problems.push(`/green: ${blue} answers from blue, expected green only`);
  if (path === "/" && (blue === 0 || green === 0)) {
    problems.push(`/: blue ${blue}, green ${green}; the 80/20 split must reach both`);
  }
  // 50 draws at 80%: fewer than 25 blue is below 1e-6 of chance
  if (path === "/" && answered > 0 && blue < answered / 2) {
    problems.push(`/: blue answered ${blue} of ${answered}, expected about 80%`);
  }
  return problems;
}
