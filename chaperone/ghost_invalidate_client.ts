/**
 * Applies an invalidation to the local varnishd: `POST /.varnish-ghost/invalidate` on ghost's loopback control
 * socket, once per batch of entries; ghost turns each into xkey keys of the invalidation's namespace and the VCL
 * purges them (soft or hard).
 *
 * @module
 */
import type { Invalidation } from "../internal/invalidation/mod.ts";
import { ghostInvalidationRequests } from "./ghost_invalidation_requests.ts";

/** The control path of invalidations. */
export const GHOST_INVALIDATE_PATH = "/.varnish-ghost/invalidate";

/** An invalidation that ghost refused or that did not reach it. */
export class GhostInvalidateError extends Error {
  /** The HTTP status, or 0 when the request failed (varnishd not listening, timeout). */
  readonly status: number;
  /** Creates the error. */
  constructor(message: string, status: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "GhostInvalidateError";
    this.status = status;
  }
}

/** Options for {@linkcode invalidateGhost}. */
export interface InvalidateGhostOptions {
  /** Time allowed for each request. @default {10000} */
  timeoutMs?: number;
}

/**
 * Applies an invalidation and returns how many objects xkey affected (summed over the batches; an object that two
 * entries name counts twice).
 *
 * @example Usage
 * ```ts ignore
 * import { invalidateGhost } from "./ghost_invalidate_client.ts";
 * const affected = await invalidateGhost(6091, { namespace: "shop", hostname: "shop.example.com", soft: true, all: true });
 * ```
 *
 * @param port The ghost control socket port on 127.0.0.1.
 * @param invalidation A parsed invalidation.
 * @param options Timeout.
 * @returns The number of objects affected.
 * @throws {GhostInvalidateError} When a request fails or ghost answers with another status than 200.
 */
export async function invalidateGhost(
  port: number,
  invalidation: Invalidation,
  options: InvalidateGhostOptions = {},
): Promise<number> {
  let affected = 0;
  for (const headers of ghostInvalidationRequests(invalidation)) {
    let response: Response;
    try {
      response = await fetch(`http://127.0.0.1:${port}${GHOST_INVALIDATE_PATH}`, {
        method: "POST",
        headers,
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
    } catch (err) {
      throw new GhostInvalidateError(`Cannot invalidate: request to ghost failed: ${(err as Error).message}`, 0, {
        cause: err,
      });
    }
    const body = await response.text();
    const answer = parseAnswer(body);
    if (response.status !== 200 || answer.affected === undefined) {
      const why = answer.error ?? body.trim().slice(0, 200);
      throw new GhostInvalidateError(`Cannot invalidate: ghost answered ${response.status}: ${why}`, response.status);
    }
    affected += answer.affected;
  }
  return affected;
}

function parseAnswer(body: string): { affected?: number; error?: string } {
  try {
    const parsed = JSON.parse(body) as { affected?: unknown; error?: unknown };
    return {
      affected: typeof parsed.affected === "number" ? parsed.affected : undefined,
      error: typeof parsed.error === "string" ? parsed.error : undefined,
    };
  } catch {
    return {};
  }
}
