/**
 * The admin HTTP server on :8901: `/healthz`, `/readyz`, `/metrics`, `/drain`. One `Request → Response` function
 * with a small path table; `serveAdmin` (`internal/admin_server.ts`) is only the shell around it.
 *
 * @module
 */
import { PROMETHEUS_CONTENT_TYPE } from "../internal/admin_server.ts";

/** A problem that knows its HTTP status. */
export class AdminHttpError extends Error {
  /** The status to answer with. */
  readonly status: number;
  /** Creates the error. */
  constructor(status: number, message: string) {
    super(message);
    this.name = "AdminHttpError";
    this.status = status;
  }
}

/** What the admin handler asks the chaperone. */
export interface AdminBackend {
  /** Whether varnishd answers the CLI; throws or returns false when it does not. */
  healthy(): Promise<boolean>;
  /** Readiness and its details (the /readyz body). */
  readiness(): { readonly ready: boolean };
  /** The Prometheus text. */
  metrics(): Promise<string>;
  /** Starts draining (idempotent). */
  drain(): void;
  /** The Gateway's admin token, which `/drain` requires as a bearer token; undefined refuses every such request. */
  adminToken(): Promise<string | undefined>;
}

/** The admin handler: a request in, a response out. */
export type AdminHandler = (request: Request) => Promise<Response>;

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body) + "\n", {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  });
}

function sameToken(a: string, b: string): boolean {
  // Compare every byte so that the time taken does not reveal the length of a matching prefix.
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** Throws 401 unless the request carries the current admin token as its bearer token. */
async function authenticate(request: Request, backend: AdminBackend): Promise<void> {
  const expected = await backend.adminToken();
  const given = /^Bearer (.+)$/.exec(request.headers.get("authorization") ?? "")?.[1];
  if (expected === undefined || given === undefined || !sameToken(given, expected)) {
    throw new AdminHttpError(401, "unauthorized");
  }
}

type Route = (request: Request, backend: AdminBackend) => Promise<Response>;

const routes: Record<string, { methods: string[]; handle: Route }> = {
  "/healthz": {
    methods: ["GET"],
    handle: async (_request, backend) => {
      const ok = await backend.healthy().catch(() => false);
      return json(ok ? 200 : 503, { healthy: ok });
    },
  },
  "/readyz": {
    methods: ["GET"],
    handle: (_request, backend) => {
      const readiness = backend.readiness();
      return Promise.resolve(json(readiness.ready ? 200 : 503, readiness));
    },
  },
  "/metrics": {
    methods: ["GET"],
    handle: async (_request, backend) =>
      new Response(await backend.metrics(), {
        headers: { "content-type": PROMETHEUS_CONTENT_TYPE },
      }),
  },
  "/drain": {
    methods: ["POST"],
    handle: async (request, backend) => {
      await authenticate(request, backend);
      backend.drain();
      return json(202, { draining: true });
    },
  },
};

/**
 * Creates the admin handler. `/drain` accepts POST with `Authorization: Bearer <admin token>` (SIGTERM drains
 * too). HEAD is answered like GET without a body.
 *
 * @example Usage
 * ```ts
 * import { createAdminHandler } from "./admin_handler.ts";
 * const handleAdmin = createAdminHandler({
 *   healthy: () => Promise.resolve(true),
 *   readiness: () => ({ ready: true }),
 *   metrics: () => Promise.resolve(""),
 *   drain: () => {},
 *   adminToken: () => Promise.resolve(undefined),
 * });
 * const response = await handleAdmin(new Request("http://localhost/healthz"));
 * ```
 *
 * @param backend What the handler reports on and acts on.
 * @returns The handler.
 */
export function createAdminHandler(backend: AdminBackend): AdminHandler {
  return async (request) => {
    const head = request.method === "HEAD";
    const method = head ? "GET" : request.method;
    const route = routes[new URL(request.url).pathname];
    let response: Response;
    try {
      if (!route) throw new AdminHttpError(404, "Cannot find this path: try /healthz, /readyz, /metrics or /drain");
      if (!route.methods.includes(method)) throw new AdminHttpError(405, `Cannot ${method} this path`);
      response = await route.handle(request, backend);
    } catch (err) {
      response = err instanceof AdminHttpError
        ? json(err.status, { error: err.message })
        : json(500, { error: `Cannot answer: ${(err as Error).message}` });
    }
    if (head) {
      await response.body?.cancel();
      return new Response(null, { status: response.status, headers: response.headers });
    }
    return response;
  };
}
