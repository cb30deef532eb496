/**
 * Runs one container as a host process inside its pod's network namespace: starts it, captures its output into a
 * timestamped log file per run, probes it, restarts it with back-off according to the pod's restart policy, and
 * stops it with SIGTERM, a grace period and SIGKILL.
 *
 * @module
 */
import { type BindMount, withBindMounts } from "./mount_namespace.ts";
import type { Logger } from "../../../internal/log.ts";
import { formatLogLine } from "./container_log.ts";
import type { ContainerCommand } from "./image_table.ts";
import type { ContainerRuntime, ContainerState } from "./pod_status.ts";
import { runHook, runProbe } from "./probe_runner.ts";
import type { Container, Probe } from "./types.ts";
import { backoffDelay } from "../../../internal/backoff.ts";

/** Options of a {@linkcode ContainerRunner}. */
export interface ContainerRunnerOptions {
  container: Container;
  command: ContainerCommand;
  env: Record<string, string>;
  cwd: string;
  netnsPath: string;
  podIp: string;
  /** Directory of this container's log files (`<n>.log` per run). */
  logDir: string;
  restartPolicy: "Always" | "OnFailure" | "Never";
  /** Called whenever the runtime state changes. */
  onChange: () => void;
  log: Logger;
  /** Back-off after a crash: first delay and maximum. @default {{ initialMs: 1000, maxMs: 30000 }} */
  backoff?: { initialMs: number; maxMs: number };
  /** The pod's volumes, bind-mounted at their mount paths in a private mount namespace. @default {[]} */
  mounts?: readonly BindMount[];
}

const nowIso = () => new Date().toISOString();

/** One container's process, restarts and probes. */
export class ContainerRunner {
  #o: ContainerRunnerOptions;
  #state: ContainerState = { waiting: { reason: "ContainerCreating" } };
  #lastState: ContainerState | undefined;
  #ready = false;
  #restartCount = 0;
  #child: Deno.ChildProcess | undefined;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #timers = new Set<ReturnType<typeof setTimeout>>();

  /** Creates the runner; {@linkcode ContainerRunner.start} starts it. */
  constructor(options: ContainerRunnerOptions) {
    this.#o = options;
  }

  /** The container's name. */
  get name(): string {
    return this.#o.container.name;
  }

  /** The process id of the current run, if running. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** The state for the pod status. */
  runtime(): ContainerRuntime {
    return {
      name: this.#o.container.name,
      image: this.#o.container.image,
      state: this.#state,
      lastState: this.#lastState,
      ready: this.#ready,
      restartCount: this.#restartCount,
    };
  }

  /** The log file of the current run, or of the previous one. */
  logFile(previous = false): string | undefined {
    const n = previous ? this.#restartCount - 1 : this.#restartCount;
    return n < 0 ? undefined : `${this.#o.logDir}/${n}.log`;
  }

  /** Tells whether the container is still running or will be restarted. */
  get active(): boolean {
    return !this.#stopping && this.#loop !== undefined;
  }

  /** Resolves when the container will not run again (it ended under its restart policy, or was stopped). */
  async finished(): Promise<void> {
    await this.#loop;
  }

  /** Starts the run loop. */
  start(): void {
    this.#loop ??= this.#run().catch((err) => this.#o.log.error("Container loop failed", { err }));
  }

  /**
   * Stops the container: the preStop hook, SIGTERM to its main process, then SIGKILL to all its processes after
   * `graceMs` or once the main process has exited.
   *
   * @param graceMs The grace period.
   */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    const child = this.#child;
    const o = this.#o;
    const hook = o.container.lifecycle?.preStop;
    if (child && hook && graceMs > 0) {
      const t0 = performance.now();
      const ok = await runHook(hook, {
        pid: child.pid,
        podIp: o.podIp,
        netnsPath: o.netnsPath,
        container: o.container,
        env: o.env,
        timeoutMs: graceMs,
      });
      o.log.info("PreStop hook ran", { container: o.container.name, ok });
      // like the kubelet: what is left of the grace period, but at least 2 s for SIGTERM
      graceMs = Math.max(2000, graceMs - (performance.now() - t0));
    }
    if (child) {
      // like a container runtime: SIGTERM to the main process only (it may stop its children in its own time, as the
      // chaperone does after draining), SIGKILL to everything left once the grace period is over or the main
      // process has exited (the kernel kills a PID namespace with its init)
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      const timer = setTimeout(() => this.#signal(child, "SIGKILL"), graceMs);
      await child.status.catch(() => {});
      clearTimeout(timer);
      this.#signal(child, "SIGKILL");
    }
    await this.#loop;
    for (const t of this.#timers) clearTimeout(t);
  }

  #signal(child: Deno.ChildProcess, signal: Deno.Signal): void {
    // the process is its session's leader (setsid): signal its whole group, then it directly
    try {
      Deno.kill(-child.pid, signal);
    } catch {
      // no group
    }
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }

  #set(state: ContainerState, ready?: boolean): void {
    this.#state = state;
    if (ready !== undefined) this.#ready = ready;
    this.#o.onChange();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#timers.delete(t);
        resolve();
      }, ms);
      this.#timers.add(t);
      this.#wake = () => {
        clearTimeout(t);
        this.#timers.delete(t);
        resolve();
      };
    });
  }

  async #run(): Promise<void> {
    const o = this.#o;
    const backoff = o.backoff ?? { initialMs: 1000, maxMs: 30_000 };
    let restarts = 0;
    await Deno.mkdir(o.logDir, { recursive: true });
    while (!this.#stopping) {
      const startedAt = nowIso();
      const started = performance.now();
      const file = await Deno.open(this.logFile()!, { create: true, append: true });
      const command = withBindMounts(
        { program: "setsid", args: [o.command.program, ...o.command.args] },
        o.mounts ?? [],
      );
      const child = new Deno.Command("nsenter", {
        args: [`--net=${o.netnsPath}`, "--", command.program, ...command.args],
        env: o.env,
        clearEnv: true,
        cwd: o.cwd,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      this.#child = child;
      o.log.info("Container started", {
        container: o.container.name,
        pid: child.pid,
        restartCount: this.#restartCount,
      });
      const hasReadiness = !!o.container.readinessProbe;
      this.#set({ running: { startedAt } }, !hasReadiness);
      const probes = new AbortController();
      if (o.container.readinessProbe) this.#probeLoop(o.container.readinessProbe, "readiness", probes.signal, child);
      if (o.container.livenessProbe) this.#probeLoop(o.container.livenessProbe, "liveness", probes.signal, child);
      let chain = Promise.resolve();
      const writeAll = async (bytes: Uint8Array) => {
        let off = 0;
        while (off < bytes.length) off += await file.write(bytes.subarray(off));
      };
      const pump = async (stream: ReadableStream<Uint8Array>, name: "stdout" | "stderr") => {
        let buf = "";
        for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf("\n")) >= 0) {
            const text = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            const line = new TextEncoder().encode(formatLogLine(new Date(), { stream: name, text }));
            chain = chain.then(() => writeAll(line));
          }
        }
        if (buf) {
          const line = new TextEncoder().encode(formatLogLine(new Date(), { stream: name, text: buf }));
          chain = chain.then(() => writeAll(line));
        }
      };
      const pumps = Promise.all([pump(child.stdout, "stdout"), pump(child.stderr, "stderr")]);
      const status = await child.status;
      probes.abort();
      await pumps.catch(() => {});
      await chain.catch(() => {});
      file.close();
      this.#child = undefined;
      const terminated: ContainerState = {
        terminated: {
          exitCode: status.code,
          ...(status.signal ? { signal: Deno.build.os === "linux" ? signalNumber(status.signal) : 0 } : {}),
          reason: status.success ? "Completed" : "Error",
          startedAt,
          finishedAt: nowIso(),
        },
      };
      o.log.info("Container exited", { container: o.container.name, exitCode: status.code, signal: status.signal });
      const restart = !this.#stopping &&
        (o.restartPolicy === "Always" || (o.restartPolicy === "OnFailure" && !status.success));
      if (!restart) {
        this.#set(terminated, false);
        break;
      }
      // A container that ran for a minute starts its back-off afresh, as the kubelet's does.
      if (performance.now() - started > 60_000) restarts = 0;
      const delay = backoffDelay(++restarts, backoff);
      this.#lastState = terminated;
      this.#set({
        waiting: { reason: "CrashLoopBackOff", message: `back-off ${delay} ms restarting failed container` },
      }, false);
      await this.#sleep(delay);
      if (this.#stopping) {
        this.#set(terminated, false);
        break;
      }
      this.#restartCount++;
    }
  }

  #probeLoop(probe: Probe, kind: "readiness" | "liveness", signal: AbortSignal, child: Deno.ChildProcess): void {
    const o = this.#o;
    const period = (probe.periodSeconds ?? 10) * 1000;
    const successNeeded = kind === "readiness" ? probe.successThreshold ?? 1 : 1;
    const failuresAllowed = probe.failureThreshold ?? 3;
    let successes = 0;
    let failures = 0;
    const tick = async () => {
      if (signal.aborted) return;
      const ok = await runProbe(probe, {
        podIp: o.podIp,
        netnsPath: o.netnsPath,
        container: o.container,
        env: o.env,
        pid: child.pid,
      });
      if (signal.aborted) return;
      if (ok) {
        failures = 0;
        successes++;
        if (kind === "readiness" && successes >= successNeeded && !this.#ready) this.#set(this.#state, true);
      } else {
        successes = 0;
        failures++;
        if (failures >= failuresAllowed) {
          if (kind === "readiness" && this.#ready) this.#set(this.#state, false);
          if (kind === "liveness") {
            o.log.info("Liveness probe failed, restarting container", { container: o.container.name });
            this.#signal(child, "SIGKILL");
            return;
          }
        }
      }
      schedule(period);
    };
    const schedule = (ms: number) => {
      if (signal.aborted) return;
      const t = setTimeout(() => {
        this.#timers.delete(t);
        tick();
      }, ms);
      this.#timers.add(t);
      signal.addEventListener("abort", () => clearTimeout(t), { once: true });
    };
    schedule((probe.initialDelaySeconds ?? 0) * 1000);
  }
}

function signalNumber(signal: Deno.Signal): number {
  const table: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15, SIGABRT: 6 };
  return table[signal] ?? 0;
}
