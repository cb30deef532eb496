/**
 * The admin HTTP server of both Lacquer processes (the chaperone's `:8901`, the operator's metrics and health ports):
 * a plain `Request → Response` handler, tested in-process, served by `Deno.serve`.
 *
 * @module
 */

/** An admin request handler; `info` tells who connected. */
export type AdminRequestHandler = (request: Request, info?: Deno.ServeHandlerInfo) => Response | Promise<Response>;

/** The content type of the Prometheus text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * Serves a handler on an address until the server is shut down or `signal` aborts.
 *
 * @example Usage
 * ```ts ignore
 * import { serveAdmin } from "./admin_server.ts";
 * const server = serveAdmin({ hostname: "127.0.0.1", port: 8901 }, () => new Response("ok\n"));
 * await server.shutdown();
 * ```
 *
 * @param address Host and port.
 * @param handler The handler.
 * @param options `signal` stops the server.
 * @returns The server (await `finished` after aborting, or call `shutdown`).
 */
export function serveAdmin(
  address: { hostname: string; port: number },
  handler: AdminRequestHandler,
  options: { signal?: AbortSignal } = {},
): Deno.HttpServer {
  return Deno.serve(
    { hostname: address.hostname, port: address.port, signal: options.signal, onListen: () => {} },
    handler,
  );
}
