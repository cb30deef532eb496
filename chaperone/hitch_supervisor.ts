/**
 * TLS termination for one HTTPS listener socket: runs hitch (a {@linkcode SupervisedProcess}), writes its certificate
 * files, client CA certificates and configuration, and reloads it with SIGHUP when they change (certificate rotation
 * and client verification changes without a restart).
 *
 * @module
 */
import { abortableSleep } from "../internal/abortable_sleep.ts";
import { writeFileAtomic } from "../internal/atomic_writer.ts";
import type { Logger } from "../internal/log.ts";
import { hitchConfig, type TlsBundle } from "./hitch_config.ts";
import type { ListenerSocket } from "./options.ts";
import { type ProcessStart, type ProcessState, SupervisedProcess } from "./supervised_process.ts";
import { tlsClientHello } from "./tls_client_hello.ts";

/** Options of {@linkcode HitchSupervisor}. */
export interface HitchSupervisorOptions {
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
  /** Offer HTTP/2 to clients (ALPN `h2`). @default {false} */
  http2?: boolean;
  /** Variables added to hitch's environment (see `keeperEnv`). @default {{}} */
  env?: Record<string, string>;
  /** First back-off delay after hitch exits; doubles per consecutive failure. @default {500} */
  backoffMs?: number;
  /** Largest back-off delay. @default {30000} */
  maxBackoffMs?: number;
}

/** The CA certificates client certificates are verified against, and how (see `ClientVerify`). */
export interface ClientCas {
  /** `required` or `optional`. */
  mode: "required" | "optional";
  /** The CA certificates, PEM. */
  ca: string;
}

const CLIENT_CA_FILE = "client-ca.crt";

/** What a {@linkcode HitchSupervisor} is doing: `waiting` for the first certificates, then as its process. */
export type HitchState = "waiting" | ProcessState;

/**
 * Supervises one hitch process. Nothing runs until {@linkcode HitchSupervisor.update} brings the first
 * certificates (state `waiting`); later updates rewrite the files atomically and send SIGHUP, on which hitch
 * reloads its configuration and certificates while established connections finish on the old workers. hitch never
 * gives up: a missing executable or a crash is retried after the back-off, so TLS cannot take the pod down.
 *
 * @example Usage
 * ```ts ignore
 * import { HitchSupervisor } from "./hitch_supervisor.ts";
 * const hitch = new HitchSupervisor({ hitch: "hitch", socket, backendPort: 6100, dir: "/var/run/lacquer/tls/port-443", log });
 * await hitch.update([{ name: "port-443.pem", pem }]);
 * await hitch.stop();
 * ```
 */
export class HitchSupervisor {
  #o: HitchSupervisorOptions;
  #process: SupervisedProcess;
  #waiting = true;
  #stopped = false;
  #updates: Promise<void> = Promise.resolve();
  #reloads = 0;
  /** The client verification hitch runs with (mode and CAs); "" when it verifies none. */
  #verifyKey = "";
  /** Bumped for each reload that must load every certificate anew; part of the file names. */
  #generation = 0;

  /**
   * Creates the supervisor; hitch starts with the first certificates.
   *
   * @param options What to run and where its files go.
   */
  constructor(options: HitchSupervisorOptions) {
    const o = options;
    this.#o = o;
    this.#process = new SupervisedProcess({
      name: "hitch",
      command: () =>
        new Deno.Command(o.hitch, {
          args: [`--config=${o.dir}/hitch.conf`],
          env: o.env,
          stdin: "null",
          stdout: "inherit",
          stderr: "inherit",
        }),
      whenUp: (start) => this.#waitServing(start),
      log: o.log,
      backoff: { initialMs: o.backoffMs ?? 500, maxMs: o.maxBackoffMs ?? 30_000 },
    });
  }

  /** The current state; `running` once hitch answers TLS handshakes. */
  get state(): HitchState {
    return this.#waiting ? "waiting" : this.#process.state;
  }

  /** How many times hitch was reloaded with SIGHUP. */
  get reloads(): number {
    return this.#reloads;
  }

  /** How many times hitch was started. */
  get starts(): number {
    return this.#process.starts;
  }

  /** The pid of the running hitch main process, if any. */
  get pid(): number | undefined {
    return this.#process.pid;
  }

  /**
   * Installs a new set of certificate bundles and client certificate verification: writes the changed files and the
   * configuration atomically, then starts hitch or reloads it. An empty set keeps the last certificates serving (or
   * keeps waiting for the first).
   *
   * @param bundles The bundles in load order (see `selectTlsBundles`).
   * @param clientCas How client certificates are verified, with the CA certificates (PEM); none: they are not.
   * @returns Resolves when the files are written and hitch was started or signalled.
   */
  update(bundles: readonly TlsBundle[], clientCas?: ClientCas): Promise<void> {
    const next = this.#updates.then(() => this.#update(bundles, clientCas));
    this.#updates = next.catch(() => {});
    return next;
  }

  async #update(bundles: readonly TlsBundle[], clientCas: ClientCas | undefined): Promise<void> {
    const o = this.#o;
    if (this.#stopped) return;
    if (bundles.length === 0) {
      o.log.warn("TLS certificates missing; the last ones keep serving", { socket: o.socket.name });
      return;
    }
    const verifyKey = clientCas === undefined ? "" : `${clientCas.mode}\n${clientCas.ca}`;
    let files: string[];
    if (this.#waiting) {
      this.#verifyKey = verifyKey;
      files = (await this.#writeFiles(bundles, clientCas)).files;
      this.#waiting = false;
      this.#process.start();
    } else if (verifyKey !== this.#verifyKey) {
      // hitch 1.7 applies client verification settings only to certificates it loads anew, and takes them from the
      // configuration it replaces: so every certificate is loaded under a new name twice, and the second reload
      // applies these settings (with a hitch that takes them from the new configuration, both do).
      this.#verifyKey = verifyKey;
      o.log.info("hitch reloading client certificate verification", {
        socket: o.socket.name,
        clientVerify: clientCas?.mode ?? "none",
      });
      files = [];
      for (const _ of [1, 2]) {
        this.#generation++;
        files = (await this.#writeFiles(bundles, clientCas)).files;
        await this.#reload();
      }
    } else {
      const written = await this.#writeFiles(bundles, clientCas);
      files = written.files;
      if (written.changed && this.#process.pid !== undefined) {
        o.log.info("hitch reloading certificates", {
          socket: o.socket.name,
          pid: this.#process.pid,
          files: files.length,
        });
        await this.#reload();
      }
    }
    // Files that are no longer listed: hitch has read the new configuration or reads it when it next starts.
    const keep = new Set([...files.map((f) => f.slice(o.dir.length + 1)), "hitch.conf", "ocsp"]);
    for await (const entry of Deno.readDir(o.dir)) {
      if (!keep.has(entry.name) && !entry.name.startsWith(".")) await Deno.remove(`${o.dir}/${entry.name}`);
    }
  }

  /**
   * Sends SIGHUP and waits (at most 5 s) until hitch has started a worker process that was not there before, then (at
   * most 1 s more) until the workers it replaced are gone: a SIGHUP sent while hitch still reaps them can be lost, and
   * the verification settings need a second reload right after the first.
   */
  async #reload(): Promise<void> {
    const pid = this.#process.pid;
    if (pid === undefined) return;
    const children = async () =>
      new Set(
        (await Deno.readTextFile(`/proc/${pid}/task/${pid}/children`).catch(() => "")).split(/\s+/).filter((c) => c),
      );
    const before = await children();
    this.#reloads++;
    this.#process.signal("SIGHUP");
    const deadline = Date.now() + 5_000;
    let started: number | undefined;
    while (Date.now() < deadline && this.#process.pid === pid) {
      const now = await children();
      if (started === undefined && [...now].some((child) => !before.has(child))) started = Date.now();
      // Old workers linger while their connections drain: wait for them only briefly.
      if (started !== undefined && (![...before].some((child) => now.has(child)) || Date.now() - started > 1_000)) {
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /**
   * Writes the bundles, the CA file and hitch.conf; `changed` when any file's bytes changed. Files of a later
   * generation get new names (see {@linkcode HitchSupervisor.update}).
   */
  async #writeFiles(
    bundles: readonly TlsBundle[],
    clientCas: ClientCas | undefined,
  ): Promise<{ files: string[]; changed: boolean }> {
    const o = this.#o;
    await Deno.mkdir(o.dir, { recursive: true, mode: 0o700 });
    const ocspDir = `${o.dir}/ocsp`;
    await Deno.mkdir(ocspDir, { recursive: true, mode: 0o700 });
    const prefix = this.#generation === 0 ? "" : `g${this.#generation}.`;
    let changed = false;
    const files: string[] = [];
    const write = async (name: string, text: string) => {
      const file = `${o.dir}/${prefix}${name}`;
      files.push(file);
      if (await writeFileAtomic(file, text, { mode: 0o600, durable: false })) changed = true;
      return file;
    };
    for (const bundle of bundles) await write(bundle.name, bundle.pem);
    const pemFiles = [...files];
    const clientVerify = clientCas === undefined
      ? undefined
      : { mode: clientCas.mode, caFile: await write(CLIENT_CA_FILE, clientCas.ca) };
    const config = hitchConfig({
      frontend: o.socket,
      backendPort: o.backendPort,
      pemFiles,
      ocspDir,
      user: o.user ?? (Deno.uid() === 0 ? "nobody" : undefined),
      http2: o.http2,
      clientVerify,
    });
    if (await writeFileAtomic(`${o.dir}/hitch.conf`, config, { mode: 0o600, durable: false })) changed = true;
    return { files, changed };
  }

  /**
   * Waits until hitch serves its frontend: a ClientHello sent there is answered (or the connection closed by whoever
   * accepted it). A connection that is merely accepted says nothing: with the socket keeper the port accepts before
   * hitch runs, into the kept socket's queue. One probe connection waits there for hitch however long it takes to
   * start, so probes never pile up in the queue. Throws when hitch exited or the supervisor stopped first.
   */
  async #waitServing(start: ProcessStart): Promise<void> {
    const host = this.#o.socket.host === "" ? "127.0.0.1" : this.#o.socket.host.replace(/^\[(.*)\]$/, "$1");
    const gone = new Promise<"gone">((resolve) => {
      start.child.status.then(() => resolve("gone"), () => resolve("gone"));
      start.signal.addEventListener("abort", () => resolve("gone"), { once: true });
    });
    while (!start.exited() && !start.signal.aborted) {
      let conn: Deno.TcpConn;
      try {
        conn = await Deno.connect({ hostname: host, port: this.#o.socket.port });
      } catch {
        await abortableSleep(50, start.signal);
        continue;
      }
      try {
        await conn.write(tlsClientHello({ random: crypto.getRandomValues(new Uint8Array(32)) }));
        // Bytes, an end or a reset: a process took the connection from the queue and handled it (hitch resets it when
        // it cannot reach varnishd yet). Only a queue nobody serves stays silent.
        const answer = conn.read(new Uint8Array(1)).then(() => "answered" as const, () => "answered" as const);
        if (await Promise.race([answer, gone]) === "answered") return;
      } catch {
        // The write failed: the connection is gone; probe again.
      } finally {
        conn.close();
      }
      await abortableSleep(50, start.signal);
    }
    throw new Error("hitch exited before serving TLS");
  }

  /**
   * Kills the running hitch with a signal (tests); the supervisor restarts it after the back-off.
   *
   * @param signal The signal.
   */
  signal(signal: Deno.Signal): void {
    this.#process.signal(signal);
  }

  /**
   * Stops hitch (SIGTERM, then SIGKILL after `graceMs`) and the supervision loop.
   *
   * @param options How long hitch may take to stop.
   */
  async stop(options: { graceMs?: number } = {}): Promise<void> {
    this.#stopped = true;
    await this.#updates;
    this.#waiting = false;
    await this.#process.stop({ graceMs: options.graceMs ?? 5_000 });
  }
}
