/**
 * TLS termination for one HTTPS listener socket: runs hitch, writes its certificate files and configuration, reloads
 * it with SIGHUP when they change (certificate rotation without a restart), and restarts it with back-off when it
 * exits.
 *
 * @module
 */
import { signalChild, terminateChild } from "./_child_process_controller.ts";
import { abortableSleep } from "../internal/abortable_sleep.ts";
import { writeFileAtomic } from "../internal/atomic_writer.ts";
import type { Logger } from "../internal/log.ts";
import { hitchConfig, type TlsBundle } from "./hitch_config.ts";
import type { ListenerSocket } from "./options.ts";
import { spawnTracked } from "./supervisor.ts";

/** Options of {@linkcode HitchController}. */
export interface HitchControllerOptions {
  /** The hitch executable. */
  hitch: string;
  /** The HTTPS listener socket hitch listens on. */
  socket: ListenerSocket;
  /** varnishd's loopback PROXY port for this socket. */
  backendPort: number;
  /** A directory of its own for the certificate files and hitch.conf (created, mode 0700). */
  dir: string;
  /** Logger. */
  log: Logger;
  /** The user hitch's workers run as. @default {"nobody" when running as root, else none} */
  user?: string;
  /** First back-off delay after hitch exits; doubles per consecutive failure. @default {500} */
  backoffMs?: number;
  /** Largest back-off delay. @default {30000} */
  maxBackoffMs?: number;
}

/** What a {@linkcode HitchController} is doing. */
export type HitchState = "waiting" | "starting" | "running" | "backoff" | "stopped";

/**
 * Supervises one hitch process. Nothing runs until {@linkcode HitchController.update} brings the first
 * certificates (state `waiting`); later updates rewrite the files atomically and send SIGHUP, on which hitch
 * reloads its configuration and certificates while established connections finish on the old workers.
 *
 * @example Usage
 * ```ts ignore
 * import { HitchController } from "./hitch_controller.ts";
 * const hitch = new HitchController({ hitch: "hitch", socket, backendPort: 6100, dir: "/var/run/lacquer/tls/port-443", log });
 * await hitch.update([{ name: "port-443.pem", pem }]);
 * await hitch.stop();
 * ```
 */
export class HitchController {
  #o: HitchControllerOptions;
  #state: HitchState = "waiting";
  #child: Deno.ChildProcess | undefined;
  #loop: Promise<void> | undefined;
  #abort = new AbortController();
  #updates: Promise<void> = Promise.resolve();
  #reloads = 0;
  #starts = 0;

  /**
   * Creates the supervisor; hitch starts with the first certificates.
   *
   * @param options What to run and where its files go.
   */
  constructor(options: HitchControllerOptions) {
    this.#o = options;
  }

  /** The current state; `running` once hitch accepts connections. */
  get state(): HitchState {
    return this.#state;
  }

  /** How many times hitch was reloaded with SIGHUP. */
  get reloads(): number {
    return this.#reloads;
  }

  /** How many times hitch was started. */
  get starts(): number {
    return this.#starts;
  }

  /** The pid of the running hitch main process, if any. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /**
   * Installs a new set of certificate bundles: writes the changed files and the configuration atomically, then
   * starts hitch or reloads it. An empty set keeps the last certificates serving (or keeps waiting for the first).
   *
   * @param bundles The bundles in load order (see `selectTlsBundles`).
   * @returns Resolves when the files are written and hitch was started or signalled.
   */
  update(bundles: readonly TlsBundle[]): Promise<void> {
    const next = this.#updates.then(() => this.#update(bundles));
    this.#updates = next.catch(() => {});
    return next;
  }

  async #update(bundles: readonly TlsBundle[]): Promise<void> {
    const o = this.#o;
    if (this.#abort.signal.aborted) return;
    if (bundles.length === 0) {
      o.log.warn("TLS certificates missing; the last ones keep serving", { socket: o.socket.name });
      return;
    }
    await Deno.mkdir(o.dir, { recursive: true, mode: 0o700 });
    const ocspDir = `${o.dir}/ocsp`;
    await Deno.mkdir(ocspDir, { recursive: true, mode: 0o700 });
    let changed = false;
    const files: string[] = [];
    for (const bundle of bundles) {
      const file = `${o.dir}/${bundle.name}`;
      files.push(file);
      if (await writeFileAtomic(file, bundle.pem, { mode: 0o600, durable: false })) changed = true;
    }
    const config = hitchConfig({
      frontend: o.socket,
      backendPort: o.backendPort,
      pemFiles: files,
      ocspDir,
      user: o.user ?? (Deno.uid() === 0 ? "nobody" : undefined),
    });
    if (await writeFileAtomic(`${o.dir}/hitch.conf`, config, { mode: 0o600, durable: false })) changed = true;
    if (this.#loop === undefined) {
      this.#loop = this.#run();
    } else if (changed && this.#child) {
      this.#reloads++;
      o.log.info("hitch reloading certificates", { socket: o.socket.name, pid: this.#child.pid, files: files.length });
      signalChild(this.#child, "SIGHUP");
    }
    // Bundles that are no longer listed: hitch has read the new configuration or reads it when it next starts.
    const keep = new Set([...bundles.map((b) => b.name), "hitch.conf", "ocsp"]);
    for await (const entry of Deno.readDir(o.dir)) {
      if (!keep.has(entry.name) && !entry.name.startsWith(".")) await Deno.remove(`${o.dir}/${entry.name}`);
    }
  }

  async #run(): Promise<void> {
    const o = this.#o;
    let consecutive = 0;
    while (!this.#abort.signal.aborted) {
      this.#state = "starting";
      this.#starts++;
      let child: Deno.ChildProcess;
      try {
        child = spawnTracked(
          new Deno.Command(o.hitch, {
            args: [`--config=${o.dir}/hitch.conf`],
            stdin: "null",
            stdout: "inherit",
            stderr: "inherit",
          }),
        );
      } catch (err) {
        // No hitch executable: report it and try again later, like a crash, rather than failing the chaperone.
        consecutive++;
        const delay = Math.min(o.maxBackoffMs ?? 30_000, (o.backoffMs ?? 500) * 2 ** (consecutive - 1));
        o.log.error("hitch did not start", { socket: o.socket.name, hitch: o.hitch, err, restartInMs: delay });
        this.#state = "backoff";
        await abortableSleep(delay, this.#abort.signal);
        continue;
      }
      this.#child = child;
      o.log.info("hitch started", { socket: o.socket.name, pid: child.pid, start: this.#starts });
      let exited = false;
      const status = child.status.then((s) => {
        exited = true;
        return s;
      });
      if (await this.#waitListening(() => exited)) {
        this.#state = "running";
        consecutive = 0;
      }
      const { code, signal } = await status;
      this.#child = undefined;
      if (this.#abort.signal.aborted) break;
      consecutive++;
      const delay = Math.min(o.maxBackoffMs ?? 30_000, (o.backoffMs ?? 500) * 2 ** (consecutive - 1));
      o.log.warn("hitch exited", { socket: o.socket.name, code, signal, restartInMs: delay });
      this.#state = "backoff";
      await abortableSleep(delay, this.#abort.signal);
    }
    this.#state = "stopped";
  }

  /** Polls the frontend until it accepts a connection; false when hitch exited or the supervisor stopped first. */
  async #waitListening(exited: () => boolean): Promise<boolean> {
    const host = this.#o.socket.host === "" ? "127.0.0.1" : this.#o.socket.host.replace(/^\[(.*)\]$/, "$1");
    while (!exited() && !this.#abort.signal.aborted) {
      try {
        const conn = await Deno.connect({ hostname: host, port: this.#o.socket.port });
        conn.close();
        return true;
      } catch {
        await abortableSleep(50, this.#abort.signal);
      }
    }
    return false;
  }

  /**
   * Kills the running hitch with a signal (tests); the supervisor restarts it after the back-off.
   *
   * @param signal The signal.
   */
  signal(signal: Deno.Signal): void {
    if (this.#child) signalChild(this.#child, signal);
  }

  /**
   * Stops hitch (SIGTERM, then SIGKILL after `graceMs`) and the supervision loop.
   *
   * @param options How long hitch may take to stop.
   */
  async stop(options: { graceMs?: number } = {}): Promise<void> {
    this.#abort.abort();
    await this.#updates;
    const child = this.#child;
    if (child) await terminateChild(child, options.graceMs ?? 5_000);
    await this.#loop;
    this.#state = "stopped";
  }
}
