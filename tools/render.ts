/**
 * `lacquer render`, the pure part: a snapshot in, what the operator would produce for it out, computed by the
 * operator's own pipeline (`translate()` and the status modules), so that the two cannot disagree.
 *
 * @module
 */
import type { ChildObject } from "../operator/children.ts";
import type { ParameterDefaults } from "../operator/gateway_parameters.ts";
import type { Snapshot } from "../operator/snapshot.ts";
import {
  cachePolicyStatuses,
  type GatewayStatus,
  mergeBackendTlsAncestor,
  mergeRouteParents,
} from "../operator/status/mod.ts";
import { translate, type TranslateResult } from "../operator/translate.ts";

/** Options for {@linkcode renderSnapshot}. */
export interface RenderOptions {
  /** The time written into conditions (RFC 3339, whole seconds). */
  now: string;
  /** Defaults for GatewayParameters fields nobody set (the operator's flags). */
  defaults: ParameterDefaults;
  /** Render only this Gateway (`namespace/name`). @default {every Gateway of a lacquer GatewayClass} */
  gateway?: string;
}

/** The status of every object the operator writes status to, as it would write it. */
export interface RenderedStatus {
  /** GatewayClasses of our controller. */
  gatewayClasses: { name: string; status: unknown }[];
  /** Gateways of our classes. */
  gateways: { gateway: string; status: GatewayStatus }[];
  /** HTTPRoutes, with their `status.parents` after our entries are merged in. */
  httpRoutes: { route: string; parents: unknown[] }[];
  /** ListenerSets of our Gateways (or of missing ones); absent when there are none. */
  listenerSets?: { listenerSet: string; status: unknown }[];
  /** CachePolicies with their ancestors; absent when there are none. */
  cachePolicies?: { policy: string; status: { ancestors: unknown[] } }[];
  /** BackendTLSPolicies with their ancestors after our entries are merged in; absent when there are none. */
  backendTlsPolicies?: { policy: string; status: { ancestors: unknown[] } }[];
  /** Ingresses of Lacquer's IngressClasses: their status and what the operator reports as Warning Events on them. */
  ingresses?: { ingress: string; status: unknown; events: string[] }[];
}

/** What the operator would write for one Gateway. */
export interface RenderedGateway {
  /** `namespace/name`. */
  gateway: string;
  /** routing.json, exactly as stored in the `<gateway>-lacquer` ConfigMap; absent when the Gateway is not configured. */
  routingJson?: string;
  /** main.vcl. */
  mainVcl?: string;
  /** The child objects; absent while the configuration is invalid (the operator leaves existing ones alone). */
  children?: ChildObject[];
}

/** Everything `lacquer render` prints. */
export interface Rendered extends RenderedStatus {
  /** Per Gateway: routing.json, main.vcl and children. */
  outputs: RenderedGateway[];
}

/**
 * Assembles the status of every object from a translation, as the operator's writers would leave it.
 *
 * @example Usage
 * ```ts
 * import { renderStatus } from "./render.ts";
 * import { emptySnapshot } from "../operator/snapshot.ts";
 * import { translate } from "../operator/translate.ts";
 * const now = "2026-01-01T00:00:00Z";
 * const status = renderStatus(emptySnapshot(), translate(emptySnapshot(), { now, defaults: { image: "x" } }), now);
 * // status.gateways.length === 0
 * ```
 *
 * @param snapshot The objects translated.
 * @param result The translation.
 * @param now The time for CachePolicy conditions.
 * @returns The statuses, sorted.
 */
export function renderStatus(snapshot: Snapshot, result: TranslateResult, now: string): RenderedStatus {
  const httpRoutes = snapshot.httpRoutes.map((route) => {
    const ns = route.metadata.namespace ?? "";
    let parents: unknown[] = route.status?.parents ?? [];
    for (const update of result.routes.filter((r) => r.key === `${ns}/${route.metadata.name}`)) {
      parents = mergeRouteParents(parents as never, update, ns);
    }
    return { route: `${ns}/${route.metadata.name}`, parents };
  }).sort((a, b) => (a.route < b.route ? -1 : 1));
  return {
    gatewayClasses: result.gatewayClasses.map((c) => ({ name: c.name, status: c.status })),
    gateways: result.gateways.map((g) => ({ gateway: g.key, status: g.status })),
    httpRoutes,
    ...(result.listenerSets.length === 0 ? {} : {
      listenerSets: result.listenerSets.map((ls) => ({ listenerSet: ls.key, status: ls.status })),
    }),
    // CachePolicy status comes from its own pure function over the same objects (the policy controller's).
    ...(snapshot.cachePolicies.length === 0 ? {} : {
      cachePolicies: cachePolicyStatuses(snapshot, { now }).map((p) => ({
        policy: p.key,
        status: { ancestors: p.ancestors },
      })),
    }),
    ...(snapshot.backendTlsPolicies.length === 0 ? {} : {
      backendTlsPolicies: snapshot.backendTlsPolicies.map((policy) => {
        const ns = policy.metadata.namespace ?? "";
        const key = `${ns}/${policy.metadata.name}`;
        let ancestors = policy.status?.ancestors ?? [];
        for (const update of result.backendTlsPolicies.filter((u) => u.key === key)) {
          ancestors = mergeBackendTlsAncestor(ancestors, update, ns);
        }
        return { policy: key, status: { ancestors } };
      }).sort((a, b) => (a.policy < b.policy ? -1 : 1)),
    }),
    ...(result.ingresses.length === 0 ? {} : {
      ingresses: result.ingresses.map((i) => ({
        ingress: i.key,
        status: i.status,
        events: i.problems.map((p) => `${p.reason}: ${p.message}`),
      })),
    }),
  };
}

/**
 * Renders what the operator would produce for a snapshot.
 *
 * @example Usage
 * ```ts
 * import { renderSnapshot } from "./render.ts";
 * import { emptySnapshot } from "../operator/snapshot.ts";
 * const rendered = renderSnapshot(emptySnapshot(), { now: "2026-01-01T00:00:00Z", defaults: { image: "x" } });
 * // rendered.outputs.length === 0
 * ```
 *
 * @param snapshot The objects.
 * @param options Clock, defaults and the Gateway to render.
 * @returns Outputs and statuses; with `gateway`, only the routes and policies that concern it.
 */
export function renderSnapshot(snapshot: Snapshot, options: RenderOptions): Rendered {
  const result = translate(snapshot, {
    now: options.now,
    defaults: options.defaults,
    ...(options.gateway ? { gateways: [options.gateway] } : {}),
  });
  const status = renderStatus(snapshot, result, options.now);
  const outputs = result.gateways.map((g) => ({
    gateway: g.key,
    ...(g.routingJson === undefined ? {} : { routingJson: g.routingJson }),
    ...(g.mainVcl === undefined ? {} : { mainVcl: g.mainVcl }),
    ...(g.children ? { children: g.children } : {}),
  }));
  if (!options.gateway) return { ...status, outputs };
  const routes = new Set(result.routes.map((r) => r.key));
  return { ...status, httpRoutes: status.httpRoutes.filter((r) => routes.has(r.route)), outputs };
}
