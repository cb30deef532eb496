/**
 * The admin HTTP server on :8901: `/healthz`, `/readyz`, `/metrics`, `/drain`, `/invalidate`, `/routing`. One
 * `Request → Response` function with a small path table; `serveAdmin` (`internal/admin_server.ts`) is only the shell
 * around it.
 *
 * @module
 */
import { PROMETHEUS_CONTENT_TYPE } from "../internal/admin_server.ts";
import {
  type Invalidation,
  type InvalidationKind,
  invalidationKind,
  parseInvalidation,
} from "../internal/invalidation/mod.ts";
import { MAX_ROUTING_PUSH_BYTES, parseRoutingPush, type RoutingPush } from "../internal/routing_push.ts";
import { ROUTING_PUSH_PATH } from "../internal/names.ts";

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

/** The `result` label of one `POST /invalidate`: applied, refused input, refused caller, varnishd not ready, failed. */
export type InvalidationResult = "ok" | "invalid" | "unauthorized" | "unavailable" | "error";

/** What one `POST /invalidate` came to, for its log line and the metrics. */
export interface InvalidationOutcome {
  /** The kind, `unknown` when the request was refused before it was parsed. */
  kind: InvalidationKind | "unknown";
  /** How it ended. */
  result: InvalidationResult;
  /** The invalidation, once parsed. */
  invalidation?: Invalidation;
  /** Objects affected, when applied. */
  affected?: number | null;
  /** Time spent applying it, when applied. */
  durationMs?: number;
  /** Why it was refused or failed. */
  error?: string;
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
  /**
   * The Gateway's admin token, which `/drain` and `/invalidate` require as a bearer token; undefined refuses every
   * such request.
   */
  adminToken(): Promise<string | undefined>;
  /**
   * Applies a validated invalidation to varnishd. Throws {@linkcode AdminHttpError} 503 when varnishd cannot take it
   * now (the caller retries).
   */
  invalidate(invalidation: Invalidation): Promise<{ affected: number | null; durationMs: number }>;
  /** Records the outcome of every `POST /invalidate`, refused ones included. */
  invalidationDone(outcome: InvalidationOutcome): void;
  /**
   * Takes a routing generation the operator pushed (`stale` when a newer one is held or watched already); `applied`
   * when a sync finished with it before the answer.
   */
  pushRouting(push: RoutingPush): Promise<{ result: "taken" | "stale"; applied: boolean }>;
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

/** The largest `POST /invalidate` body: 256 entries of 2048 characters, with room for JSON. */
const MAX_INVALIDATION_BYTES = 1 << 20;

/** Authenticates, parses and applies one invalidation; every outcome is reported to the backend. */
async function invalidate(request: Request, backend: AdminBackend): Promise<Response> {
  let outcome: InvalidationOutcome = { kind: "unknown", result: "unauthorized" };
  try {
    await authenticate(request, backend);
    outcome = { kind: "unknown", result: "invalid" };
    const text = await request.text();
    let body: unknown;
    try {
      if (text.length > MAX_INVALIDATION_BYTES) throw new RangeError("too large");
      body = JSON.parse(text);
    } catch {
      throw new AdminHttpError(400, `Cannot accept the invalidation: the body is not a JSON object of at most 1 MiB`);
    }
    const parsed = parseInvalidation(body);
    if (!parsed.ok) throw new AdminHttpError(400, parsed.error);
    outcome = { kind: invalidationKind(parsed.value), result: "error", invalidation: parsed.value };
    const applied = await backend.invalidate(parsed.value);
    outcome = { ...outcome, result: "ok", ...applied };
    return json(200, { result: "ok", affected: applied.affected, durationMs: applied.durationMs });
  } catch (err) {
    const status = err instanceof AdminHttpError ? err.status : 500;
    if (outcome.result === "error") {
      outcome.result = status === 503 ? "unavailable" : status === 400 ? "invalid" : "error";
    }
    outcome.error = (err as Error).message;
    throw err;
  } finally {
    backend.invalidationDone(outcome);
  }
}

/** Authenticates and takes one pushed routing generation (`internal/routing_push.ts`). */
async function pushRouting(request: Request, backend: AdminBackend): Promise<Response> {
  await authenticate(request, backend);
  const text = await request.text();
  let push: RoutingPush;
  try {
    if (text.length > MAX_ROUTING_PUSH_BYTES) throw new RangeError(`the body is over ${MAX_ROUTING_PUSH_BYTES} bytes`);
    push = parseRoutingPush(JSON.parse(text));
  } catch (err) {
    throw new AdminHttpError(400, (err as Error).message);
  }
  return json(202, await backend.pushRouting(push));
}

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
  "/invalidate": { methods: ["POST"], handle: invalidate },
  [ROUTING_PUSH_PATH]: { methods: ["POST"], handle: pushRouting },
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
 * Creates the admin handler. `/drain`, `/invalidate` and `/routing` accept POST with
 * `Authorization: Bearer <admin token>` (SIGTERM drains too). `/invalidate` takes one invalidation as JSON
 * (`internal/invalidation/`) and answers `200 {"result": "ok", "affected": n, "durationMs": ms}`,
 * `400 {"error": "<why>"}`, `401 {"error": "unauthorized"}` or `503 {"error": "<why>"}` (varnishd not ready: retry).
 * `/routing` takes a routing generation the operator pushes (`internal/routing_push.ts`) and answers
 * `202 {"result": "taken", "applied": true}` once the sync has applied it (`"applied": false`: not yet, when the
 * backend stopped waiting), `202 {"result": "stale", "applied": false}` (a newer one is there already), 400 or 401.
 * HEAD is answered like GET without a body.
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
 *   invalidate: () => Promise.resolve({ affected: 0, durationMs: 0 }),
 *   invalidationDone: () => {},
 *   pushRouting: () => Promise.resolve({ result: "stale", applied: false }),
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
      if (!route) {
        throw new AdminHttpError(
          404,
          "Cannot find this path: try /healthz, /readyz, /metrics, /drain, /invalidate or /routing",
        );
      }
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
