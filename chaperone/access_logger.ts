/**
 * The access log: a supervised `varnishncsa` reads every client request from varnishd's shared-memory log, and each
 * one (or a sample) becomes one JSON line on the chaperone's stdout, the gateway container's log. varnishd never
 * waits for it: a slow reader loses log records, not request time.
 *
 * @module
 */
import type { Logger } from "../internal/log.ts";
import { ACCESS_LOG_FORMAT, ACCESS_LOG_QUERY, accessRecord } from "./access_log.ts";
import { SupervisedProcess } from "./supervised_process.ts";

/** Options of {@linkcode AccessLogger}. */
export interface AccessLoggerOptions {
  /** The varnishncsa executable. */
  varnishncsa: string;
  /** varnishd's `-n` directory. */
  instanceDir: string;
  /** The share of requests logged, 0 to 1. */
  sampleRate: number;
  /** Writes one line (without its newline). @default {to stdout} */
  write?: (line: string) => Promise<void>;
  /** Numbers in [0, 1) that pick the sample. @default {Math.random} */
  random?: () => number;
  /** Logger for varnishncsa's starts and exits. */
  log: Logger;
}

const encoder = new TextEncoder();

async function writeStdout(line: string): Promise<void> {
  const bytes = encoder.encode(line + "\n");
  for (let off = 0; off < bytes.length;) off += await Deno.stdout.write(bytes.subarray(off));
}

/** The lines of a byte stream. */
async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      yield buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
    }
  }
}

/**
 * Runs varnishncsa for as long as the chaperone runs (restarted with back-off when it exits; it waits for varnishd's
 * log itself) and writes each sampled request as an {@linkcode AccessRecord} JSON line.
 *
 * @example Usage
 * ```ts
 * import { AccessLogger } from "./access_logger.ts";
 * import { createLogger } from "../internal/log.ts";
 * const logger = new AccessLogger({
 *   varnishncsa: "varnishncsa",
 *   instanceDir: "/var/run/lacquer/varnish",
 *   sampleRate: 1,
 *   log: createLogger(),
 * });
 * logger.start();
 * await logger.stop();
 * ```
 */
export class AccessLogger {
  #o: AccessLoggerOptions;
  #process: SupervisedProcess;
  #pumps = new Set<Promise<void>>();

  /**
   * Creates the logger; {@linkcode AccessLogger.start} starts varnishncsa.
   *
   * @param options What to run, where to write, and the sample rate.
   */
  constructor(options: AccessLoggerOptions) {
    this.#o = options;
    this.#process = new SupervisedProcess({
      name: "varnishncsa",
      command: () =>
        new Deno.Command(options.varnishncsa, {
          // -t off: wait for varnishd's log however long varnishd takes to start.
          args: ["-n", options.instanceDir, "-c", "-j", "-t", "off", "-q", ACCESS_LOG_QUERY, "-F", ACCESS_LOG_FORMAT],
          stdin: "null",
          stdout: "piped",
          stderr: "inherit",
        }),
      whenUp: (start) => {
        const pump = this.#pump(start.child.stdout).finally(() => this.#pumps.delete(pump));
        this.#pumps.add(pump);
        return Promise.resolve();
      },
      log: options.log,
    });
  }

  /** Starts varnishncsa. */
  start(): void {
    this.#process.start();
  }

  /** Stops varnishncsa after the lines it has written are out. */
  async stop(): Promise<void> {
    await this.#process.stop({ graceMs: 2000 });
    await Promise.all(this.#pumps);
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    const write = this.#o.write ?? writeStdout;
    const random = this.#o.random ?? Math.random;
    try {
      for await (const line of lines(stream)) {
        if (random() >= this.#o.sampleRate) continue;
        const record = accessRecord(line);
        if (record) await write(JSON.stringify(record));
      }
    } catch (err) {
      this.#o.log.warn("Access log lines lost", { err });
    }
  }
}
