/**
 * varnishd under supervision: started in the foreground, up once its CLI answers and the current configuration was
 * applied, restarted with back-off, given up on after repeated failures.
 *
 * @module
 */
import { abortableSleep } from "../internal/abortable_sleep.ts";
import type { Logger } from "../internal/log.ts";
import { type ProcessStart, type ProcessState, SupervisedProcess } from "./supervised_process.ts";
import { VarnishCliClient } from "./varnish_cli_client.ts";

/** Options for {@linkcode VarnishdSupervisor}. */
export interface VarnishdSupervisorOptions {
  /** The varnishd executable. */
  varnishd: string;
  /** Its arguments (see `varnishdArgs`). */
  args: readonly string[];
  /** Variables added to its environment (see `keeperEnv`). @default {{}} */
  env?: Record<string, string>;
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

/**
 * Runs varnishd and keeps it running (a {@linkcode SupervisedProcess}); after `maxFailures` failures within
 * `windowMs` it gives up ({@linkcode VarnishdSupervisor.done} resolves `failed`).
 *
 * @example Usage
 * ```ts ignore
 * import { VarnishdSupervisor } from "./varnishd_supervisor.ts";
 * const supervisor = new VarnishdSupervisor({ varnishd: "varnishd", args, cliPort: 6082, secret, log,
 *   onStarted: async (cli) => { await cli.vclInline("boot", vcl); await cli.vclUse("boot"); await cli.start(); } });
 * supervisor.start();
 * await supervisor.stop();
 * ```
 */
export class VarnishdSupervisor {
  #options: VarnishdSupervisorOptions;
  #cli: VarnishCliClient;
  #process: SupervisedProcess;

  /**
   * Creates the supervisor; {@linkcode VarnishdSupervisor.start} starts varnishd.
   *
   * @param options What to run and how to react.
   */
  constructor(options: VarnishdSupervisorOptions) {
    const o = options;
    this.#options = o;
    this.#cli = new VarnishCliClient({ port: o.cliPort, secret: o.secret, log: o.log });
    this.#process = new SupervisedProcess({
      name: "varnishd",
      command: () =>
        new Deno.Command(o.varnishd, {
          args: [...o.args],
          env: o.env,
          stdin: "null",
          stdout: "inherit",
          stderr: "inherit",
        }),
      whenUp: async (start) => {
        await this.#waitForCli(start);
        await o.onStarted(this.#cli);
      },
      log: o.log,
      backoff: { initialMs: o.backoffMs ?? 500, maxMs: o.maxBackoffMs ?? 30_000 },
      giveUp: { failures: o.maxFailures ?? 5, windowMs: o.windowMs ?? 300_000 },
    });
  }

  /** The CLI client of the supervised varnishd (reconnects across restarts). */
  get cli(): VarnishCliClient {
    return this.#cli;
  }

  /** The current state. */
  get state(): ProcessState {
    return this.#process.state;
  }

  /** How many times varnishd was started. */
  get starts(): number {
    return this.#process.starts;
  }

  /** The pid of the running varnishd manager, if any. */
  get pid(): number | undefined {
    return this.#process.pid;
  }

  /** Resolves when the supervisor ends: `stopped` after {@linkcode VarnishdSupervisor.stop}, or `failed`. */
  get done(): Promise<"stopped" | "failed"> {
    return this.#process.done;
  }

  /** Starts supervising. Idempotent. */
  start(): void {
    this.#process.start();
  }

  /**
   * Kills the running varnishd manager with a signal (tests and signal forwarding); the supervisor restarts it.
   *
   * @param signal The signal.
   */
  signal(signal: Deno.Signal): void {
    this.#process.signal(signal);
  }

  /**
   * Stops varnishd (SIGTERM, then SIGKILL after `graceMs`) and the supervision loop.
   *
   * @param options How long varnishd may take to stop before it is killed.
   */
  async stop(options: { graceMs?: number } = {}): Promise<void> {
    await this.#process.stop({ graceMs: options.graceMs ?? 10_000 });
    this.#cli.close();
  }

  async #waitForCli(start: ProcessStart): Promise<void> {
    const deadline = performance.now() + (this.#options.startTimeoutMs ?? 30_000);
    for (;;) {
      if (start.exited()) throw new Error("Cannot reach the Varnish CLI: varnishd exited during start-up");
      if (start.signal.aborted) throw new Error("Cannot reach the Varnish CLI: stopping");
      try {
        await this.#cli.ping();
        return;
      } catch (err) {
        if (performance.now() > deadline) {
          throw new Error("Cannot reach the Varnish CLI: no answer during start-up", { cause: err });
        }
        await abortableSleep(50, start.signal);
      }
    }
  }
}
