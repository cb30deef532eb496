/**
 * Reads Varnish counters with `varnishstat -j`.
 *
 * @module
 */
import { spawnTracked } from "./reaper.ts";
import type { VarnishCounter } from "./metrics.ts";

/** Options for {@linkcode readVarnishCounters}. */
export interface ReadVarnishCountersOptions {
  /** The varnishstat executable. @default {"varnishstat"} */
  varnishstat?: string;
  /** Time allowed. @default {5000} */
  timeoutMs?: number;
}

/**
 * Runs `varnishstat -n <dir> -j` and returns the counters by name.
 *
 * @param instanceDir varnishd's `-n` directory.
 * @param options Executable and timeout.
 * @returns The counters; empty when varnishstat fails (varnishd not up yet).
 */
export async function readVarnishCounters(
  instanceDir: string,
  options: ReadVarnishCountersOptions = {},
): Promise<Record<string, VarnishCounter>> {
  const child = spawnTracked(
    new Deno.Command(options.varnishstat ?? "varnishstat", {
      args: ["-n", instanceDir, "-j", "-t", "1"],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }),
  );
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
  }, options.timeoutMs ?? 5000);
  try {
    const output = await child.output();
    if (!output.success) return {};
    const parsed = JSON.parse(new TextDecoder().decode(output.stdout)) as {
      counters?: Record<string, VarnishCounter>;
    };
    return parsed.counters ?? {};
  } catch {
    return {};
  } finally {
    clearTimeout(timer);
  }
}
