/**
 * Test helpers for the socket keeper with real processes: the built keeper and shim, and a stream of new
 * connections whose outcomes are recorded.
 *
 * @module
 */
import { lacquerCacheDir } from "../tests/cluster/layout.ts";

/** The keeper program and the shim, as `scripts/setup.sh keeper` installs them (or `$LACQUER_KEEPER_DIR`). */
export function keeperBuild(): { keeper: string; preload: string } {
  const dir = Deno.env.get("LACQUER_KEEPER_DIR") ?? `${lacquerCacheDir(Deno.env)}/keeper`;
  const build = { keeper: `${dir}/lacquer-keeper`, preload: `${dir}/libkeeper_preload.so` };
  for (const file of Object.values(build)) {
    try {
      Deno.statSync(file);
    } catch {
      throw new Error(`${file} is not built (scripts/setup.sh keeper)`);
    }
  }
  return build;
}

/** What one new connection with one request saw. */
export type Outcome = "answered" | "refused" | "failed";

/** One attempt of {@linkcode load}, with its start time (`performance.now()`). */
export interface Attempt {
  /** When it started. */
  at: number;
  /** What it saw. */
  outcome: Outcome;
}

/**
 * Workers running `attempt` one after the other until stopped.
 *
 * @param attempt One new connection with one request.
 * @param workers How many run at once.
 * @returns The attempts so far, and a way to stop.
 */
export function load(attempt: () => Promise<Outcome>, workers: number): { attempts: Attempt[]; stop(): Promise<void> } {
  const attempts: Attempt[] = [];
  let running = true;
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      const at = performance.now();
      attempts.push({ at, outcome: await attempt() });
      await new Promise((r) => setTimeout(r, 10));
    }
  });
  return {
    attempts,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/**
 * How many of `outcomes` are `which`.
 *
 * @param outcomes Outcomes.
 * @param which The one to count.
 * @returns The count.
 */
export function count(outcomes: readonly Outcome[], which: Outcome): number {
  return outcomes.filter((o) => o === which).length;
}
