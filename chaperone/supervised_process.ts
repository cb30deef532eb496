/**
 * One supervised child process, as the chaperone runs varnishd and hitch: start it, wait until it is up, restart it
 * with exponential back-off whenever it fails to come up or exits, optionally give up after too many failures, and
 * stop it (SIGTERM, then SIGKILL after a grace period). What "up" means is the caller's: varnishd answers its CLI and
 * took its configuration, hitch accepts connections.
 *
 * @module
 */
import { abortableSleep } from "../internal/abortable_sleep.ts";
import { backoffDelay, type BackoffPolicy } from "../internal/backoff.ts";
import type { Logger } from "../internal/log.ts";
import { spawnTracked } from "./reaper.ts";

/** What a {@linkcode SupervisedProcess} is doing. */
export type ProcessState = "starting" | "running" | "backoff" | "stopping" | "stopped" | "failed";

/** One start of the process, as {@linkcode SupervisedProcessOptions.whenUp} sees it. */
export interface ProcessStart {
  /** The running child. */
  child: Deno.ChildProcess;
  /** Whether it has exited already. */
  exited(): boolean;
  /** Aborts when the supervisor stops. */
  signal: AbortSignal;
}

/** Options of {@linkcode SupervisedProcess}. */
export interface SupervisedProcessOptions {
  /** The name in log messages (`varnishd`, `hitch`). */
  name: string;
  /** Builds the command of each start. */
  command: () => Deno.Command;
  /** Resolves once a new start is up; a throw stops this start, and the process is started again after back-off. */
  whenUp: (start: ProcessStart) => Promise<void>;
  /** Logger. */
  log: Logger;
  /** Back-off between starts; the delay doubles per consecutive failure. @default {{ initialMs: 500, maxMs: 30000 }} */
  backoff?: BackoffPolicy;
  /** Give up (state `failed`) after this many failures within `windowMs`. @default {never} */
  giveUp?: { failures: number; windowMs: number };
}

/** How one start ended. */
interface StartOutcome {
  /** Whether it came up. */
  up: boolean;
  /** Its exit status; undefined when it could not be spawned. */
  status?: Deno.CommandStatus;
  /** Why it could not be spawned. */
  err?: unknown;
  /** How long it ran, from the spawn to its exit. */
  ranMs: number;
}

/** Sends `signal` to `child`, ignoring a child that has already exited. */
export function signalChild(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch {
    // Already exited.
  }
}

/** Sends SIGTERM, then SIGKILL if the child is still running after `graceMs`; resolves once it has exited. */
export async function terminateChild(child: Deno.ChildProcess, graceMs: number): Promise<void> {
  signalChild(child, "SIGTERM");
  const timer = setTimeout(() => signalChild(child, "SIGKILL"), graceMs);
  await child.status;
  clearTimeout(timer);
}

/**
 * Keeps one process running. A process that could not be spawned (a missing executable), did not come up or exited
 * counts as a failure and is started again after the back-off; a start that came up resets the back-off, and when
 * it ran longer than the delay it is started again at once. With
 * `giveUp`, too many failures within the window end the supervision ({@linkcode SupervisedProcess.done} resolves
 * `failed`), so that the pod restarts rather than crash-looping inside.
 *
 * @example Usage
 * ```ts
 * import { SupervisedProcess } from "./supervised_process.ts";
 * import { createLogger } from "../internal/log.ts";
 * const sleeper = new SupervisedProcess({
 *   name: "sleep",
 *   command: () => new Deno.Command("sleep", { args: ["60"] }),
 *   whenUp: () => Promise.resolve(),
 *   log: createLogger({ level: "error" }),
 * });
 * sleeper.start();
 * await sleeper.stop();
 * ```
 */
export class SupervisedProcess {
  #o: SupervisedProcessOptions;
  #state: ProcessState = "stopped";
  #child: Deno.ChildProcess | undefined;
  #abort = new AbortController();
  #failures: number[] = [];
  #starts = 0;
  #loop: Promise<"stopped" | "failed"> | undefined;

  /**
   * Creates the supervisor; {@linkcode SupervisedProcess.start} starts the process.
   *
   * @param options What to run, when it is up, and the restart policy.
   */
  constructor(options: SupervisedProcessOptions) {
    this.#o = options;
  }

  /** The current state. */
  get state(): ProcessState {
    return this.#state;
  }

  /** How many times the process was started. */
  get starts(): number {
    return this.#starts;
  }

  /** The pid of the running process, if any. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Resolves when supervision ends: `stopped` after {@linkcode SupervisedProcess.stop}, or `failed`. */
  get done(): Promise<"stopped" | "failed"> {
    return this.#loop ?? Promise.resolve("stopped");
  }

  /** Starts supervising. Idempotent. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /**
   * Sends a signal to the running process (reloads, tests); when it exits, it is restarted as after a crash.
   *
   * @param signal The signal.
   */
  signal(signal: Deno.Signal): void {
    if (this.#child) signalChild(this.#child, signal);
  }

  /**
   * Stops the process (SIGTERM, then SIGKILL after `graceMs`) and the supervision.
   *
   * @param options How long the process may take to stop before it is killed.
   */
  async stop(options: { graceMs?: number } = {}): Promise<void> {
    this.#state = "stopping";
    this.#abort.abort();
    const child = this.#child;
    if (child) await terminateChild(child, options.graceMs ?? 10_000);
    await this.#loop;
    this.#state = "stopped";
  }

  async #run(): Promise<"stopped" | "failed"> {
    const { log, name } = this.#o;
    let consecutive = 0;
    while (!this.#abort.signal.aborted) {
      const outcome = await this.#startOnce();
      if (this.#abort.signal.aborted) break;
      consecutive = outcome.up ? 1 : consecutive + 1;
      const now = performance.now();
      const windowMs = this.#o.giveUp?.windowMs ?? Infinity;
      this.#failures = [...this.#failures.filter((t) => now - t < windowMs), now];
      // Starts are spaced by the back-off, not separated by it: a process that served longer than its delay is
      // started again at once, since every moment without it refuses connections; one that keeps failing
      // early still waits, doubling.
      const delay = backoffDelay(consecutive, this.#o.backoff ?? { initialMs: 500, maxMs: 30_000 });
      const restartInMs = outcome.up ? Math.max(0, Math.round(delay - outcome.ranMs)) : delay;
      const failures = this.#failures.length;
      if (outcome.status === undefined) log.error(`${name} did not start`, { err: outcome.err, restartInMs });
      else {
        const { code, signal } = outcome.status;
        log.warn(outcome.up ? `${name} exited` : `${name} did not start`, { code, signal, failures, restartInMs });
      }
      if (this.#o.giveUp && failures >= this.#o.giveUp.failures) {
        log.error(`${name} keeps failing; giving up`, { failures, windowMs });
        this.#state = "failed";
        return "failed";
      }
      this.#state = "backoff";
      await abortableSleep(restartInMs, this.#abort.signal);
    }
    this.#state = "stopped";
    return "stopped";
  }

  /** Spawns the process, waits until it is up, then until it exits. */
  async #startOnce(): Promise<StartOutcome> {
    this.#state = "starting";
    this.#starts++;
    const spawnedAt = performance.now();
    let child: Deno.ChildProcess;
    try {
      child = spawnTracked(this.#o.command());
    } catch (err) {
      return { up: false, err, ranMs: 0 };
    }
    this.#child = child;
    this.#o.log.info(`${this.#o.name} started`, { pid: child.pid, start: this.#starts });
    let exited = false;
    const status = child.status.then((s) => {
      exited = true;
      return s;
    });
    let up = false;
    try {
      await this.#o.whenUp({ child, exited: () => exited, signal: this.#abort.signal });
      up = true;
      this.#state = "running";
    } catch (err) {
      if (!this.#abort.signal.aborted) this.#o.log.warn(`${this.#o.name} start failed`, { pid: child.pid, err });
      signalChild(child, "SIGTERM");
    }
    const result = { up, status: await status, ranMs: performance.now() - spawnedAt };
    this.#child = undefined;
    return result;
  }
}
