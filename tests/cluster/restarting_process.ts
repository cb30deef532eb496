/**
 * A control-plane program kept running the way a production node keeps it (the kubelet for a static pod, systemd's
 * `Restart=always`): started again whenever it exits, after a back-off that doubles while it keeps exiting quickly.
 * kube-controller-manager needs it: with leader election, as every production control plane runs it, it exits
 * when it cannot renew its lease (an API server away for longer than the renew deadline) and counts on being
 * restarted.
 *
 * @module
 */
import { abortableSleep } from "../../internal/abortable_sleep.ts";
import { backoffDelay, type BackoffPolicy } from "../../internal/backoff.ts";
import type { Logger } from "../../internal/log.ts";
import { type LoggedProcess, spawnLogged, type SpawnLoggedOptions } from "./spawn_logged.ts";

/** Options for {@linkcode spawnRestarting}. */
export interface SpawnRestartingOptions extends SpawnLoggedOptions {
  /** The name in log messages. */
  name: string;
  log: Logger;
  /** Delay before a restart; doubles per exit within `stableMs` of its start. @default {{ initialMs: 1000, maxMs: 10000 }} */
  backoff?: BackoffPolicy;
  /** A run this long resets the back-off. @default {60000} */
  stableMs?: number;
}

/** A program kept running; `stop` ends it and the restarts. */
export interface RestartingProcess extends Pick<LoggedProcess, "stop"> {
  /** The current run's process id. */
  readonly pid: number;
  /** How many times it was started. */
  readonly starts: number;
}

/**
 * Starts `program` and starts it again whenever it exits, until `stop`.
 *
 * @example Usage
 * ```ts ignore
 * const kcm = spawnRestarting(bin.kubeControllerManager, { name: "kube-controller-manager", log, args, logFile });
 * await kcm.stop();
 * ```
 *
 * @param program Program path.
 * @param options Arguments, log file, environment, name, logger, back-off.
 * @returns The handle.
 */
export function spawnRestarting(program: string, options: SpawnRestartingOptions): RestartingProcess {
  const stopping = new AbortController();
  let current = spawnLogged(program, options);
  let starts = 1;
  const loop = (async () => {
    let quickExits = 0;
    for (;;) {
      const startedAt = performance.now();
      const status = await current.status;
      if (stopping.signal.aborted) return status;
      quickExits = performance.now() - startedAt < (options.stableMs ?? 60_000) ? quickExits + 1 : 1;
      const restartInMs = backoffDelay(quickExits, options.backoff ?? { initialMs: 1000, maxMs: 10_000 });
      options.log.warn(`${options.name} exited; restarting`, { code: status.code, signal: status.signal, restartInMs });
      await abortableSleep(restartInMs, stopping.signal);
      if (stopping.signal.aborted) return status;
      current = spawnLogged(program, options);
      starts++;
    }
  })();
  return {
    get pid() {
      return current.pid;
    },
    get starts() {
      return starts;
    },
    async stop(graceMs?: number) {
      stopping.abort();
      await current.stop(graceMs);
      return await loop;
    },
  };
}
