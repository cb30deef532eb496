/**
 * A test helper: a raw HTTP/1.1 server on a free loopback port, answering each request with the bytes `answer` gives
 * (any framing, or none), after `delayMs`.
 *
 * @module
 */

/**
 * Starts the server.
 *
 * @param answer The raw response to a request for `host`, the `n`th on its connection; closes after one saying
 *   `Connection: close`.
 * @param delayMs How long each answer waits. @default {0}
 * @returns Its port, how many connections it accepted, and how to close it.
 */
export function rawServer(answer: (host: string, n: number) => string, delayMs = 0) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let accepted = 0;
  const serving = (async () => {
    for await (const conn of listener) {
      accepted++;
      void (async () => {
        const buf = new Uint8Array(4096);
        let text = "";
        let n = 0;
        try {
          for (;;) {
            const read = await conn.read(buf);
            if (read === null) break;
            text += new TextDecoder().decode(buf.subarray(0, read));
            let end;
            while ((end = text.indexOf("\r\n\r\n")) >= 0) {
              const host = /\r\nHost: ([^\r]*)/.exec(text.slice(0, end))?.[1] ?? "";
              text = text.slice(end + 4);
              const reply = answer(host, n++);
              if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
              await conn.write(new TextEncoder().encode(reply));
              if (/connection: close/i.test(reply)) {
                conn.close();
                return;
              }
            }
          }
        } catch {
          // client gone
        }
        conn.close();
      })();
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    accepted: () => accepted,
    close: async () => {
      listener.close();
      await serving;
    },
  };
}
