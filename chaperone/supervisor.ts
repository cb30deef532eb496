/**
 * Process supervision: varnishd in the foreground, restarted with back-off, and the duties of PID 1.
 *
 * @module
 */
import { signalChild, terminateChild } from "./_child_process_controller.ts";
import { abortableSleep } from "../internal/abortable_sleep.ts";
import type { Logger } from "../internal/log.ts";
import { VarnishCliClient } from "./varnish_cli_client.ts";

/** Options for {@linkcode VarnishdSupervisor}. */
export interface VarnishdSupervisorOptions {
  /** The varnishd executable. */
  varnishd: string;
  /** Its arguments (see `varnishdArgs`). */
  args: readonly string[];
  /** The CLI port on 127.0.0.1. */
  cliPort: number;
  /** The CLI secret bytes (the content of the `-S` file). */
  secret: Uint8Array;
  /**
   * Called after each varnishd start, once the CLI answers: load the VCL, start the child, reload ghost. A throw
   * counts as a failed start: varnishd is stopped and started again after the back-off.
   */
  onStarted: (cli: VarnishCliClient) => Promise<void>;
  /** Logger. */
  log: Logger;
  /** Failures within {@linkcode VarnishdSupervisorOptions.windowMs} after which the supervisor gives up. @default {5} */
  maxFailures?: number;
  /** The window failures are counted in. @default {300000} */
  windowMs?: number;
  /** First back-off delay; doubles per consecutive failure. @default {500} */
  backoffMs?: number;
  /** Largest back-off delay. @default {30000} */
  maxBackoffMs?: number;
  /** How long varnishd may take to open its CLI. @default {30000} */
  startTimeoutMs?: number;
}

const ownChildren = new Set<number>();

/**
 * Spawns a command and records its pid as one Deno reaps itself, so that {@linkcode startReaper} leaves it alone.
 * Every child process of the chaperone starts here.
 *
 * @param command The command.
 * @returns The running child.
 */
export function spawnTracked(command: Deno.Command): Deno.ChildProcess {
  const child = command.spawn();
  ownChildren.add(child.pid);
  child.status.finally(() => ownChildren.delete(child.pid));
  return child;
}

/** What the supervisor is doing. */
export type SupervisorState = "starting" | "running" | "backoff" | "stopping" | "stopped" | "failed";

/**
 * Runs varnishd and keeps it running: a failed start or an exit restarts it after an exponential back-off, and
 * after `maxFailures` failures within `windowMs` the supervisor gives up ({@linkcode VarnishdSupervisor.done}
 * resolves with state `failed`), so that the pod restarts rather than crash-looping inside.
 *
 * @example Usage
 * ```ts ignore
 * import { VarnishdSupervisor } from "./supervisor.ts";
 * const supervisor = new VarnishdSupervisor({ varnishd: "varnishd", args, cliPort: 6082, secret, log,
 *   onStarted: async (cli) => { await cli.vclInline("boot", vcl); await cli.vclUse("boot"); await cli.start(); } });
 * supervisor.start();
 * await supervisor.stop();
 * ```
 */
export class VarnishdSupervisor {
  #options: VarnishdSupervisorOptions;
  #state: SupervisorState = "stopped";
  #child: Deno.ChildProcess | undefined;
  #cli: VarnishCliClient;
  #abort = new AbortController();
  #failures: number[] = [];
  #starts = 0;
  #loop: Promise<SupervisorState> | undefined;

  /**
   * Creates the supervisor; {@linkcode VarnishdSupervisor.start} starts varnishd.
   *
   * @param options What to run and how to react.
   */
  constructor(options: VarnishdSupervisorOptions) {
    this.#options = options;
    this.#cli = new VarnishCliClient({ port: options.cliPort, secret: options.secret, log: options.log });
  }

  /** The CLI client of the supervised varnishd (reconnects across restarts). */
  get cli(): VarnishCliClient {
    return this.#cli;
  }

  /** The current state. */
  get state(): SupervisorState {
    return this.#state;
  }

  /** How many times varnishd was started. */
  get starts(): number {
    return this.#starts;
  }

  /** The pid of the running varnishd manager, if any. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Resolves when the supervisor ends: `stopped` after {@linkcode VarnishdSupervisor.stop}, or `failed`. */
  get done(): Promise<SupervisorState> {
    return this.#loop ?? Promise.resolve(this.#state);
  }

  /** Starts supervising. Idempotent. */
  start(): void {
    this.#loop ??= this.#run();
  }

  async #run(): Promise<SupervisorState> {
    const o = this.#options;
    const log = o.log;
    const maxFailures = o.maxFailures ?? 5;
    const windowMs = o.windowMs ?? 300_000;
    let consecutive = 0;
    while (!this.#abort.signal.aborted) {
      this.#state = "starting";
      this.#starts++;
      const child = spawnTracked(
        new Deno.Command(o.varnishd, { args: [...o.args], stdin: "null", stdout: "inherit", stderr: "inherit" }),
      );
      this.#child = child;
      log.info("varnishd started", { pid: child.pid, start: this.#starts });
      let ok = false;
      try {
        await this.#waitForCli(child);
        await o.onStarted(this.#cli);
        ok = true;
        consecutive = 0;
        this.#state = "running";
      } catch (err) {
        if (!this.#abort.signal.aborted) log.warn("varnishd start failed", { pid: child.pid, err });
        signalChild(child, "SIGTERM");
      }
      const status = await child.status;
      this.#child = undefined;
      if (this.#abort.signal.aborted) break;
      const now = performance.now();
      this.#failures = [...this.#failures.filter((t) => now - t < windowMs), now];
      consecutive++;
      log.warn(ok ? "varnishd exited" : "varnishd did not start", {
        code: status.code,
        signal: status.signal,
        failures: this.#failures.length,
      });
      if (this.#failures.length >= maxFailures) {
        log.error("varnishd keeps failing; giving up", { failures: this.#failures.length, windowMs });
        this.#state = "failed";
        return "failed";
      }
      this.#state = "backoff";
      const delay = Math.min(o.maxBackoffMs ?? 30_000, (o.backoffMs ?? 500) * 2 ** (consecutive - 1));
      await abortableSleep(delay, this.#abort.signal);
    }
    this.#state = "stopped";
    return "stopped";
  }

  async #waitForCli(child: Deno.ChildProcess): Promise<void> {
    const deadline = performance.now() + (this.#options.startTimeoutMs ?? 30_000);
    let exited = false;
    child.status.then(() => exited = true);
    for (;;) {
      if (exited) throw new Error("Cannot reach the Varnish CLI: varnishd exited during start-up");
      if (this.#abort.signal.aborted) throw new Error("Cannot reach the Varnish CLI: stopping");
      try {
        await this.#cli.ping();
        return;
      } catch (err) {
        if (performance.now() > deadline) {
          throw new Error("Cannot reach the Varnish CLI: no answer during start-up", { cause: err });
        }
        await abortableSleep(50, this.#abort.signal);
      }
    }
  }

  /**
   * Kills the running varnishd manager with a signal (tests and signal forwarding); the supervisor restarts it.
   *
   * @param signal The signal.
   */
  signal(signal: Deno.Signal): void {
    if (this.#child) signalChild(this.#child, signal);
  }

  /**
   * Stops varnishd (SIGTERM, then SIGKILL after `graceMs`) and the supervision loop.
   *
   * @param options How long varnishd may take to stop before it is killed.
   */
  async stop(options: { graceMs?: number } = {}): Promise<void> {
    this.#state = "stopping";
    this.#abort.abort();
    const child = this.#child;
    if (child) await terminateChild(child, options.graceMs ?? 10_000);
    await this.#loop;
    this.#cli.close();
    this.#state = "stopped";
  }
}

/** A running zombie reaper. */
export interface Reaper {
  /** Zombies reaped so far. */
  readonly reaped: number;
  /** Stops reaping and releases libc. */
  stop(): void;
}

const P_ALL = 0;
const WEXITED = 4;
const WNOHANG = 1;
const WNOWAIT = 0x01000000;
const PR_SET_CHILD_SUBREAPER = 36;

/**
 * Reaps orphaned processes that were re-parented to this process, as PID 1 must (for instance varnishd's cache
 * child when its manager was killed). Deno has no API for this, so it calls libc through FFI: on each SIGCHLD
 * (and every second) `waitid(P_ALL, WNOWAIT)` peeks at an exited child without reaping it, and only a pid that is
 * not one of our own children (started with {@linkcode spawnTracked}; Deno reaps those itself) is then collected
 * with `waitpid`. Needs
 * `--allow-ffi`. When this process is not PID 1, `subreaper: true` makes the kernel re-parent orphans to it anyway
 * (`PR_SET_CHILD_SUBREAPER`), which is how the tests exercise it.
 *
 * @param options `subreaper` asks the kernel for orphans even when this is not PID 1.
 * @returns The reaper.
 */
export function startReaper(options: { subreaper?: boolean; log?: Logger } = {}): Reaper {
  const libc = Deno.dlopen("libc.so.6", {
    waitid: { parameters: ["i32", "i32", "buffer", "i32"], result: "i32" },
    waitpid: { parameters: ["i32", "buffer", "i32"], result: "i32" },
    prctl: { parameters: ["i32", "u64", "u64", "u64", "u64"], result: "i32" },
  });
  if (options.subreaper) libc.symbols.prctl(PR_SET_CHILD_SUBREAPER, 1n, 0n, 0n, 0n);
  let reaped = 0;
  let stopped = false;
  const info = new Uint8Array(128);
  const status = new Uint8Array(4);
  const reap = () => {
    if (stopped) return;
    for (let i = 0; i < 64; i++) {
      info.fill(0);
      if (libc.symbols.waitid(P_ALL, 0, info, WEXITED | WNOHANG | WNOWAIT) !== 0) return;
      // siginfo_t on 64-bit Linux: si_signo, si_errno, si_code (3 × int32), padding, then si_pid at offset 16.
      const pid = new DataView(info.buffer).getInt32(16, true);
      if (pid === 0) return;
      if (ownChildren.has(pid)) return;
      if (libc.symbols.waitpid(pid, status, WNOHANG) === pid) {
        reaped++;
        options.log?.debug("Orphan process reaped", { pid });
      } else {
        return;
      }
    }
  };
  Deno.addSignalListener("SIGCHLD", reap);
  const timer = setInterval(reap, 1000);
  return {
    get reaped() {
      return reaped;
    },
    stop() {
      stopped = true;
      clearInterval(timer);
      Deno.removeSignalListener("SIGCHLD", reap);
      libc.close();
    },
  };
}
