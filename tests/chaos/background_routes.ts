/**
 * Background routes for the chaos suite (`LACQUER_CHAOS_BACKGROUND_ROUTES=<n>`): `n` HTTPRoutes on the Gateway
 * besides the load's, applied before the scenarios, so that churn is measured on a Gateway of realistic size (its
 * routing.json then stored in shards). Each filler route sends `/filler-<i>/` on one of 500 hostnames to `green`,
 * out of the load's way. Such a run's results live in their own section of `results.md`, which a full run keeps.
 *
 * @module
 */
import { ok } from "node:assert/strict";
import { parseRoutingManifest } from "../../ghost/contract/mod.ts";
import { CHILD_SUFFIX, ROUTING_SHARDS_KEY } from "../../internal/names.ts";
import { eventually } from "../cluster/mod.ts";
import { apply, curl, GW_API, podOf } from "../e2e/_e2e_gateway.ts";
import type { ChaosGateway } from "./chaos_gateway.ts";

/** How many hostnames the filler routes are spread over (10 routes each at 5,000). */
export const HOSTNAMES = 500;
/** Concurrent writes while applying them. */
const PARALLEL = 16;
/** The heading of the results section of a run with background routes. */
export const BACKGROUND_HEADING = "## With background routes";

/** How long applying the filler routes took. */
export interface BackgroundTiming {
  /** From the first write until the API server accepted the last. */
  writtenMs: number;
  /** From the first write until the first and last filler route are answered through the Gateway. */
  servedMs: number;
  /** How many shards the Gateway's routing.json is stored in then (0: not sharded). */
  shards: number;
}

const host = (i: number) => `f${i % HOSTNAMES}.chaos.example`;

/**
 * Applies `count` filler HTTPRoutes and waits until the first and the last are served.
 *
 * @param sys The running system.
 * @param count How many routes.
 * @returns The time taken.
 */
export async function addBackgroundRoutes(sys: ChaosGateway, count: number): Promise<BackgroundTiming> {
  const t0 = performance.now();
  for (let i = 0; i < count; i += PARALLEL) {
    await Promise.all(
      Array.from(
        { length: Math.min(PARALLEL, count - i) },
        (_, k) =>
          apply(sys.client, `${GW_API}/namespaces/${sys.ns}/httproutes`, {
            apiVersion: "gateway.networking.k8s.io/v1",
            kind: "HTTPRoute",
            metadata: { name: `filler-${i + k}`, namespace: sys.ns },
            spec: {
              parentRefs: [{ name: sys.gw.gateway }],
              hostnames: [host(i + k)],
              rules: [{
                matches: [{ path: { type: "PathPrefix", value: `/filler-${i + k}/` } }],
                backendRefs: [{ name: "green", port: 8080 }],
              }],
            },
          }),
      ),
    );
  }
  const writtenMs = Math.round(performance.now() - t0);
  await eventually(async () => {
    // several answers in a row, so that both gateway pods serve them
    for (const i of [0, count - 1, 0, count - 1, 0, count - 1]) {
      const pod = podOf(await curl(["-H", `Host: ${host(i)}`, `http://${sys.address}/filler-${i}/x`]));
      ok(pod?.startsWith("green-"), `filler-${i} answered by ${pod}`);
    }
  }, { timeoutMs: 600_000, intervalMs: 1000 });
  const servedMs = Math.round(performance.now() - t0);
  const cm = await sys.client.request<{ data?: Record<string, string> }>(
    `/api/v1/namespaces/${sys.ns}/configmaps/${sys.gw.gateway}${CHILD_SUFFIX}`,
  );
  const manifest = cm.data?.[ROUTING_SHARDS_KEY];
  return { writtenMs, servedMs, shards: manifest ? parseRoutingManifest(manifest).shards.length : 0 };
}

/**
 * Splits a results file into its main part and its background-routes section (empty when it has none).
 *
 * @example Usage
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { BACKGROUND_HEADING, splitResults } from "./background_routes.ts";
 * deepEqual(splitResults(`# t\n\nmain\n\n${BACKGROUND_HEADING}\n\nrows\n`), ["# t\n\nmain\n\n", `${BACKGROUND_HEADING}\n\nrows\n`]);
 * ```
 *
 * @param text The results file's text.
 * @returns `[main, section]`; joined they give `text` back.
 */
export function splitResults(text: string): [string, string] {
  const at = text.indexOf(`\n${BACKGROUND_HEADING}\n`);
  return at < 0 ? [text, ""] : [text.slice(0, at + 1), text.slice(at + 1)];
}
