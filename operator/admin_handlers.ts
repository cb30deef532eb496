/**
 * The operator's two HTTP endpoints: Prometheus metrics on `:8080` (`/metrics`) and health on `:8081`
 * (`/healthz`: the process runs; `/readyz`: the caches are synced). Handlers are plain `Request → Response`
 * functions, tested in-process; `serveAdmin` (`internal/admin_server.ts`) serves them.
 *
 * @module
 */
import { PROMETHEUS_CONTENT_TYPE } from "../internal/admin_server.ts";
import type { MetricsRegistry } from "../internal/metrics.ts";

/** What the health handler reports. */
export interface HealthState {
  /** True once every cache has listed. */
  synced(): boolean;
  /** True when the watches are healthy. */
  watching(): boolean;
  /** "leader", "standby" or "single". */
  role(): string;
}

/**
 * Answers `/healthz` and `/readyz`.
 *
 * @param request The request.
 * @param state The health state.
 * @returns The response.
 */
export function handleHealth(request: Request, state: HealthState): Response {
  const path = new URL(request.url).pathname;
  if (path === "/healthz") return new Response("ok\n");
  if (path === "/readyz") {
    const body = { synced: state.synced(), watching: state.watching(), role: state.role() };
    return Response.json(body, { status: body.synced ? 200 : 503 });
  }
  return new Response("not found\n", { status: 404 });
}

/**
 * Answers `/metrics`.
 *
 * @param request The request.
 * @param registry The metrics.
 * @returns The response.
 */
export function handleMetrics(request: Request, registry: MetricsRegistry): Response {
  if (new URL(request.url).pathname !== "/metrics") return new Response("not found\n", { status: 404 });
  return new Response(registry.render(), { headers: { "content-type": PROMETHEUS_CONTENT_TYPE } });
}
