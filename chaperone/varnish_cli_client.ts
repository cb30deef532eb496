/**
 * A client of the Varnish CLI (the management port varnishd opens with `-T`), in TypeScript.
 *
 * Protocol (varnish-cache `include/vcli.h`, `lib/libvarnish/vcli_proto.c`): every answer is a 13-byte header
 * `"%-3d %-8d\n"` (status, body length), the body, and a newline. With `-S`, the first answer is status 107 whose
 * body starts with a 32-character challenge; the client answers `auth <sha256 hex of challenge "\n" secret
 * challenge "\n">`. Commands are single lines; a here-document (`<< TOKEN`) carries multi-line arguments.
 *
 * The client sends one command at a time (callers queue), times every exchange out, and reconnects on the next
 * command after any failure.
 *
 * @module
 */
import type { Logger } from "../internal/log.ts";

/** CLI status codes (varnish-cache `include/vcli.h`). */
export const CliStatus = {
  syntax: 100,
  unknown: 101,
  unimplemented: 102,
  tooFew: 104,
  tooMany: 105,
  param: 106,
  auth: 107,
  ok: 200,
  truncated: 201,
  cant: 300,
  comms: 400,
  close: 500,
} as const;

/** A non-200 answer of the Varnish CLI; callers catch it to tell a refused command from a broken connection. */
export class VarnishCliError extends Error {
  /** The CLI status code (see {@linkcode CliStatus}). */
  readonly status: number;
  /** The answer's body (for vcl.inline, the compiler's message). */
  readonly body: string;
  /** Creates the error. */
  constructor(command: string, status: number, body: string) {
    super(`Cannot run Varnish CLI command "${command}": status ${status}: ${body.trim().split("\n")[0] ?? ""}`);
    this.name = "VarnishCliError";
    this.status = status;
    this.body = body;
  }
}

/** One answer of the CLI. */
export interface CliResponse {
  /** The status code. */
  status: number;
  /** The body. */
  body: string;
}

/** One entry of `vcl.list`. */
export interface VclListEntry {
  /** `active` or `available` (or `discarded` while it is still busy). */
  status: string;
  /** `auto`, `cold` or `warm`. */
  state: string;
  /** `warm`, `cold`, `cooling`, `busy`, ... */
  temperature: string;
  /** References from requests still running on it. */
  busy: number;
  /** The VCL name. */
  name: string;
}

/** Options for {@linkcode VarnishCliClient}. */
export interface VarnishCliClientOptions {
  /** Host of the CLI. @default {"127.0.0.1"} */
  hostname?: string;
  /** Port of the CLI. @default {6082} */
  port?: number;
  /** The exact bytes of the `-S` secret file; without it the client cannot authenticate. */
  secret: Uint8Array;
  /** Time allowed for one exchange (connect, send, answer), in milliseconds. @default {10000} */
  timeoutMs?: number;
  /** Logger for connects and failures. */
  log?: Logger;
}

/** Time allowed for `vcl.inline`: a large VCL takes seconds to compile. */
export const VCL_COMPILE_TIMEOUT_MS = 120_000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const HEADER_LENGTH = 13;
const SIMPLE_ARG = /^[A-Za-z0-9_.:/=,+@%-]+$/;

/**
 * Quotes one CLI argument so varnishd's tokenizer reads it back unchanged.
 *
 * @example Usage
 * ```ts
 * import { quoteCliArgument } from "./varnish_cli_client.ts";
 * quoteCliArgument('say "hi"'); // '"say \\"hi\\""'
 * ```
 *
 * @param arg The argument.
 * @returns The argument as it goes on the command line.
 */
export function quoteCliArgument(arg: string): string {
  if (SIMPLE_ARG.test(arg)) return arg;
  let out = '"';
  for (const ch of arg) {
    if (ch === "\\" || ch === '"') out += "\\" + ch;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else out += ch;
  }
  return out + '"';
}

/**
 * Returns a here-document delimiter that occurs nowhere in `text`, so the text can never end the document early.
 *
 * @param text The document.
 * @param random Returns a random token.
 * @returns The delimiter.
 */
export function heredocDelimiter(text: string, random: () => string): string {
  for (;;) {
    const token = `LACQUER_EOF_${random()}`;
    if (!text.includes(token)) return token;
  }
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A connection with a read buffer. */
class Connection {
  #conn: Deno.TcpConn;
  #buffer: Uint8Array = new Uint8Array(0);
  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }
  async #fill(): Promise<void> {
    const chunk = new Uint8Array(64 * 1024);
    const n = await this.#conn.read(chunk);
    if (n === null) throw new Deno.errors.UnexpectedEof("Cannot read from the Varnish CLI: connection closed");
    this.#buffer = concat([this.#buffer, chunk.subarray(0, n)]);
  }
  async #take(length: number): Promise<Uint8Array> {
    while (this.#buffer.length < length) await this.#fill();
    const out = this.#buffer.slice(0, length);
    this.#buffer = this.#buffer.slice(length);
    return out;
  }
  async readResponse(): Promise<CliResponse> {
    const header = decoder.decode(await this.#take(HEADER_LENGTH));
    const match = /^(\d{3}) +(\d+) *\n$/.exec(header);
    if (!match) throw new SyntaxError(`Cannot parse Varnish CLI answer header "${header.trim()}": not "status length"`);
    const length = Number(match[2]);
    const body = await this.#take(length + 1);
    return { status: Number(match[1]), body: decoder.decode(body.subarray(0, length)) };
  }
  async write(text: string): Promise<void> {
    const bytes = encoder.encode(text);
    let written = 0;
    while (written < bytes.length) written += await this.#conn.write(bytes.subarray(written));
  }
  close(): void {
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }
}

/**
 * A Varnish CLI client: authenticates with the shared secret, runs one command at a time, reconnects after
 * failures.
 *
 * @example Usage
 * ```ts ignore
 * import { VarnishCliClient } from "./varnish_cli_client.ts";
 * const cli = new VarnishCliClient({ port: 6082, secret: await Deno.readFile("/run/secret") });
 * await cli.ping();
 * cli.close();
 * ```
 */
export class VarnishCliClient {
  #hostname: string;
  #port: number;
  #secret: Uint8Array;
  #timeoutMs: number;
  #log: Logger | undefined;
  #conn: Connection | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  #busySince: number | undefined;
  #pending = 0;

  /**
   * Creates a client; it connects on the first command.
   *
   * @param options Address, secret and timeout.
   * @throws {RangeError} When the port or timeout is out of range.
   */
  constructor(options: VarnishCliClientOptions) {
    const port = options.port ?? 6082;
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new RangeError(`Cannot create a Varnish CLI client for port ${port}: the port must be 1 to 65535`);
    }
    const timeoutMs = options.timeoutMs ?? 10_000;
    if (!(timeoutMs > 0)) {
      throw new RangeError(`Cannot create a Varnish CLI client with timeout ${timeoutMs}: it must be positive`);
    }
    this.#hostname = options.hostname ?? "127.0.0.1";
    this.#port = port;
    this.#secret = options.secret;
    this.#timeoutMs = timeoutMs;
    this.#log = options.log;
  }

  async #connect(): Promise<Connection> {
    const conn = new Connection(await Deno.connect({ hostname: this.#hostname, port: this.#port }));
    try {
      let hello = await conn.readResponse();
      if (hello.status === CliStatus.auth) {
        const challenge = hello.body.slice(0, 32);
        const answer = await sha256Hex(
          concat([encoder.encode(challenge + "\n"), this.#secret, encoder.encode(challenge + "\n")]),
        );
        await conn.write(`auth ${answer}\n`);
        hello = await conn.readResponse();
      }
      if (hello.status !== CliStatus.ok) throw new VarnishCliError("auth", hello.status, hello.body);
      this.#log?.debug("Varnish CLI connected", { port: this.#port });
      return conn;
    } catch (err) {
      conn.close();
      throw err;
    }
  }

  async #exchange(line: string, label: string, timeoutMs: number): Promise<CliResponse> {
    if (this.#closed) throw new Deno.errors.Interrupted("Cannot run a Varnish CLI command: the client is closed");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // Closing the socket makes the pending read fail, so nothing is left waiting.
        this.#conn?.close();
        this.#conn = undefined;
        reject(
          new DOMException(
            `Cannot run Varnish CLI command "${label}": no answer in ${timeoutMs} ms`,
            "TimeoutError",
          ),
        );
      }, timeoutMs);
    });
    const work = (async () => {
      this.#conn ??= await this.#connect();
      const conn = this.#conn;
      await conn.write(line);
      return await conn.readResponse();
    })();
    try {
      const response = await Promise.race([work, timeout]);
      if (response.status === CliStatus.close) this.#drop();
      return response;
    } catch (err) {
      this.#drop();
      work.catch(() => {});
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** `performance.now()` since which commands have been queued or running, or undefined when the client is idle. */
  get busySince(): number | undefined {
    return this.#busySince;
  }

  #drop(): void {
    this.#conn?.close();
    this.#conn = undefined;
  }

  /**
   * Runs one command line (already quoted) and returns the answer whatever its status.
   *
   * @param line The command line without the newline, or with a here-document.
   * @param options `label` names the command in errors; `timeoutMs` overrides the client's timeout.
   * @returns The answer.
   */
  raw(line: string, options: { label?: string; timeoutMs?: number } = {}): Promise<CliResponse> {
    const label = options.label ?? line.split(" ")[0] ?? line;
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    if (this.#pending++ === 0) this.#busySince = performance.now();
    const run = this.#queue.then(() => this.#exchange(line.endsWith("\n") ? line : line + "\n", label, timeoutMs));
    this.#queue = run.catch(() => {}).finally(() => {
      if (--this.#pending === 0) this.#busySince = undefined;
    });
    return run;
  }

  /**
   * Runs a command and returns its body.
   *
   * @param args The command and its arguments (quoted here).
   * @returns The body of a 200 answer.
   * @throws {VarnishCliError} When varnishd answers with another status.
   */
  async run(...args: string[]): Promise<string> {
    const response = await this.raw(args.map(quoteCliArgument).join(" "), { label: args[0] });
    if (response.status !== CliStatus.ok) throw new VarnishCliError(args[0] ?? "", response.status, response.body);
    return response.body;
  }

  /** Sends `ping`; resolves when varnishd answers. */
  async ping(): Promise<void> {
    await this.run("ping");
  }

  /** Returns the child state from `status` (`running`, `stopped`, ...). */
  async status(): Promise<string> {
    const body = await this.run("status");
    return /Child in state (\S+)/.exec(body)?.[1] ?? body.trim();
  }

  /** Starts the child process. */
  async start(): Promise<void> {
    await this.run("start");
  }

  /** Stops the child process. */
  async stop(): Promise<void> {
    await this.run("stop");
  }

  /**
   * Compiles and loads a VCL from source under a name (`vcl.inline`), through a here-document whose delimiter
   * cannot occur in the source.
   *
   * @param name The new VCL's name.
   * @param source The VCL source.
   * @throws {VarnishCliError} When the VCL does not compile; `body` holds the compiler output.
   */
  async vclInline(name: string, source: string): Promise<void> {
    const delimiter = heredocDelimiter(source, () => crypto.randomUUID().replaceAll("-", ""));
    const body = source.endsWith("\n") ? source : source + "\n";
    const response = await this.raw(`vcl.inline ${quoteCliArgument(name)} << ${delimiter}\n${body}${delimiter}\n`, {
      label: "vcl.inline",
      timeoutMs: Math.max(this.#timeoutMs, VCL_COMPILE_TIMEOUT_MS),
    });
    if (response.status !== CliStatus.ok) throw new VarnishCliError("vcl.inline", response.status, response.body);
  }

  /** Makes a loaded VCL the active one. */
  async vclUse(name: string): Promise<void> {
    await this.run("vcl.use", name);
  }

  /** Discards a loaded, inactive VCL. */
  async vclDiscard(name: string): Promise<void> {
    await this.run("vcl.discard", name);
  }

  /** Lists the loaded VCLs (`vcl.list -j`). */
  async vclList(): Promise<VclListEntry[]> {
    const parsed = JSON.parse(await this.run("vcl.list", "-j")) as unknown[];
    return parsed.slice(3) as VclListEntry[];
  }

  /** Sets a runtime parameter. */
  async paramSet(name: string, value: string): Promise<void> {
    await this.run("param.set", name, value);
  }

  /** Closes the connection; later commands fail. */
  close(): void {
    this.#closed = true;
    this.#drop();
  }
}
