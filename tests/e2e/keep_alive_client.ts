/**
 * A minimal HTTP/1.1 client over one kept-alive connection, with a Host header of the caller's choice (Deno's fetch
 * does not let a caller set Host, and pools connections out of the caller's sight): what the propagation bench polls
 * each gateway pod with. A fresh connection per request costs a TCP handshake and a new Varnish session, which on a
 * loaded machine was most of the time the bench took to notice a change; one connection per pod, reused, leaves
 * the request's own round trip.
 *
 * @module
 */

const CRLF_CRLF = new Uint8Array([13, 10, 13, 10]);
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Where `needle` starts in `haystack` from `from`, or -1. */
function indexOf(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  outer: for (let i = from; i <= haystack.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * One kept-alive HTTP/1.1 connection to `address:port`, opened on first use and again after the server closes it or
 * a request fails. Requests are sent one at a time.
 *
 * @example Usage
 * ```ts ignore
 * import { KeepAliveClient } from "./keep_alive_client.ts";
 * using client = new KeepAliveClient("10.0.0.7", 80);
 * await client.get("h1.example"); // "200 <body>"
 * ```
 */
export class KeepAliveClient {
  readonly #address: string;
  readonly #port: number;
  #conn: Deno.TcpConn | undefined;
  /** Bytes read and not yet consumed. */
  #buffered = new Uint8Array(0);
  /** Connections opened so far. */
  connections = 0;

  /**
   * Creates the client; nothing connects before the first request.
   *
   * @param address The server's address.
   * @param port Its port.
   */
  constructor(address: string, port: number) {
    this.#address = address;
    this.#port = port;
  }

  /**
   * Sends `GET path` with `Host: host` and returns `"<status> <body>"`. A request that fails closes the connection
   * (the next opens another) and throws.
   *
   * @param host The Host header.
   * @param path The request target. @default {"/"}
   * @returns The status code and the body, decoded (chunked or by Content-Length).
   */
  async get(host: string, path = "/"): Promise<string> {
    try {
      if (this.#conn === undefined) {
        this.#conn = await Deno.connect({ hostname: this.#address, port: this.#port });
        this.#conn.setNoDelay(true);
        this.#buffered = new Uint8Array(0);
        this.connections++;
      }
      await this.#conn.write(encoder.encode(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`));
      return await this.#response();
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** Reads one response; closes the connection after it when the server says so. */
  async #response(): Promise<string> {
    let end = -1;
    while ((end = indexOf(this.#buffered, CRLF_CRLF)) < 0) await this.#fill();
    const head = decoder.decode(this.#buffered.subarray(0, end));
    this.#buffered = this.#buffered.subarray(end + 4);
    const [statusLine, ...lines] = head.split("\r\n");
    const status = Number(statusLine.split(" ")[1]);
    const headers = new Map(lines.map((l) => {
      const colon = l.indexOf(":");
      return [l.slice(0, colon).trim().toLowerCase(), l.slice(colon + 1).trim().toLowerCase()] as const;
    }));
    let body: Uint8Array;
    if (status === 204 || status === 304 || (status >= 100 && status < 200)) body = new Uint8Array(0);
    else if (headers.get("transfer-encoding")?.includes("chunked")) body = await this.#chunked();
    else if (headers.has("content-length")) body = await this.#take(Number(headers.get("content-length")));
    else {
      // delimited by the connection's end
      while (await this.#fill(true));
      body = this.#buffered;
      this.#buffered = new Uint8Array(0);
      headers.set("connection", "close");
    }
    if (headers.get("connection") === "close" || statusLine.startsWith("HTTP/1.0")) this.close();
    return `${status} ${decoder.decode(body)}`;
  }

  /** Reads a chunked body (trailers skipped). */
  async #chunked(): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for (;;) {
      const size = parseInt(decoder.decode(await this.#line()), 16);
      if (!(size > 0)) break;
      parts.push(await this.#take(size));
      await this.#line();
    }
    while ((await this.#line()).length > 0); // trailers, up to the empty line
    const body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((at, p) => (body.set(p, at), at + p.length), 0);
    return body;
  }

  /** One line, without its CRLF. */
  async #line(): Promise<Uint8Array> {
    let end = -1;
    while ((end = indexOf(this.#buffered, CRLF_CRLF.subarray(0, 2))) < 0) await this.#fill();
    const line = this.#buffered.subarray(0, end);
    this.#buffered = this.#buffered.subarray(end + 2);
    return line;
  }

  /** The next `n` bytes. */
  async #take(n: number): Promise<Uint8Array> {
    while (this.#buffered.length < n) await this.#fill();
    const out = this.#buffered.slice(0, n);
    this.#buffered = this.#buffered.subarray(n);
    return out;
  }

  /** Reads more bytes; at the connection's end throws, or returns false when `endOk`. */
  async #fill(endOk = false): Promise<boolean> {
    const chunk = new Uint8Array(16 * 1024);
    const n = await this.#conn!.read(chunk);
    if (n === null) {
      if (endOk) return false;
      throw new Error("connection closed before the end of the response");
    }
    const next = new Uint8Array(this.#buffered.length + n);
    next.set(this.#buffered);
    next.set(chunk.subarray(0, n), this.#buffered.length);
    this.#buffered = next;
    return true;
  }

  /** Closes the connection, if open (the next request opens another). */
  close(): void {
    try {
      this.#conn?.close();
    } catch {
      // closed already
    }
    this.#conn = undefined;
  }

  /** Closes the connection. */
  [Symbol.dispose](): void {
    this.close();
  }
}
