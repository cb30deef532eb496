/**
 * Asks the ghost VMOD to reload ghost.json: `GET /.varnish-ghost/reload` on the loopback control socket, or to apply
 * the delta file next to it (`ghost.json.delta`) to the state it serves (`?delta=<base revision>`); `?revision=` names
 * the new state for a later delta.
 *
 * @module
 */
import { GHOST_RELOAD_PATH } from "../internal/names.ts";

/** A reload that ghost refused or that did not reach it; the last good state keeps serving. */
export class GhostReloadError extends Error {
  /** The HTTP status, or 0 when the request failed. */
  readonly status: number;
  /** The answer body. */
  readonly body: string;
  /** Creates the error. */
  constructor(message: string, status: number, body: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "GhostReloadError";
    this.status = status;
    this.body = body;
  }

  /** Whether ghost did not apply a delta because it does not serve the delta's base revision (409). */
  get stale(): boolean {
    return this.status === 409;
  }

  /** Whether ghost itself refused the document (500 with its `"status":"error"` report), not a failed request. */
  get refused(): boolean {
    if (this.status !== 500) return false;
    try {
      return (JSON.parse(this.body) as { status?: unknown }).status === "error";
    } catch {
      return false;
    }
  }
}

/** Options for {@linkcode reloadGhost}. */
export interface ReloadGhostOptions {
  /** Time allowed for the request. @default {10000} */
  timeoutMs?: number;
  /** What to reload. */
  request?: GhostReloadRequest;
}

/** A reload of the whole ghost.json, or of its delta file. */
export interface GhostReloadRequest {
  /** The revision the new state is known by. */
  revision?: string;
  /** Apply `ghost.json.delta` to the state of this revision (409 when ghost serves another one). */
  deltaBase?: string;
}

/**
 * Reloads ghost and returns its JSON answer.
 *
 * @example Usage
 * ```ts ignore
 * import { reloadGhost } from "./ghost_reload_client.ts";
 * const answer = await reloadGhost(6091);
 * ```
 *
 * @param port The ghost control socket port on 127.0.0.1.
 * @param options Timeout.
 * @returns The parsed answer (the raw text when it is not JSON).
 * @throws {GhostReloadError} When the request fails or ghost answers with a non-2xx status.
 */
export async function reloadGhost(port: number, options: ReloadGhostOptions = {}): Promise<unknown> {
  let response: Response;
  try {
    const query = new URLSearchParams();
    if (options.request?.revision !== undefined) query.set("revision", options.request.revision);
    if (options.request?.deltaBase !== undefined) query.set("delta", options.request.deltaBase);
    const search = query.size > 0 ? `?${query}` : "";
    response = await fetch(`http://127.0.0.1:${port}${GHOST_RELOAD_PATH}${search}`, {
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
  } catch (err) {
    throw new GhostReloadError(`Cannot reload ghost: request failed: ${(err as Error).message}`, 0, "", {
      cause: err,
    });
  }
  const body = await response.text();
  if (!response.ok) {
    throw new GhostReloadError(
      `Cannot reload ghost: status ${response.status}: ${body.trim().slice(0, 500)}`,
      response.status,
      body,
    );
  }
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

/**
 * Asks ghost which revision it serves, changing nothing: a delta request whose base no state has (the empty
 * revision, which the chaperone never gives) answers 409 with the revision serving, before any file is read.
 *
 * @example Usage
 * ```ts ignore
 * import { ghostServingRevision } from "./ghost_reload_client.ts";
 * const serving = await ghostServingRevision(6091); // null: a router that read ghost.json itself
 * ```
 *
 * @param port The ghost control socket port on 127.0.0.1.
 * @param timeoutMs Time allowed.
 * @returns The revision, or null when the serving state was read from ghost.json by a VCL load or a child start.
 * @throws {GhostReloadError} When the request fails or ghost does not answer 409 with the revision it serves.
 */
export async function ghostServingRevision(port: number, timeoutMs = 2000): Promise<string | null> {
  try {
    await reloadGhost(port, { timeoutMs, request: { deltaBase: "" } });
  } catch (err) {
    if (!(err instanceof GhostReloadError && err.stale)) throw err;
    let serving: unknown;
    try {
      serving = (JSON.parse(err.body) as { serving?: unknown }).serving;
    } catch {
      // not ghost's answer: reported below
    }
    if (typeof serving === "string" || serving === null) return serving;
    throw new GhostReloadError(
      `ghost's 409 names no serving revision: ${err.body.trim().slice(0, 200)}`,
      409,
      err.body,
    );
  }
  throw new GhostReloadError(
    "ghost applied a delta to the empty revision: it cannot tell the revision it serves",
    200,
    "",
  );
}
