/**
 * The heading of a stored benchmark results file: which task, when, and how busy the machine was, since every figure
 * depends on it.
 *
 * @module
 */

/**
 * Returns the heading of a results file (title and measurement line, then a blank line).
 *
 * @param task The deno task that measured, e.g. `bench:cache`.
 * @returns Markdown text ending in a blank line.
 */
export async function benchResultsHeading(task: string): Promise<string> {
  const load = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
  return `# \`deno task ${task}\`\n\nMeasured ${new Date().toISOString().slice(0, 16)}Z on ` +
    `${navigator.hardwareConcurrency} cores shared with other work (load average ${load} at the end).\n\n`;
}
