/**
 * Ingresses as HTTPRoute-pipeline input: {@linkcode expandIngresses} returns the snapshot the translator reads with
 * every Ingress of a Lacquer IngressClass turned into routes (`ingress_routes.ts`) on the Gateway its class names,
 * its TLS turned into HTTPS listeners of that Gateway, and its `lacquer.dev/cache-policy` annotation, or a
 * CachePolicy `targetRefs` entry naming it (`group: networking.k8s.io, kind: Ingress`), into targets of that
 * CachePolicy: its routes. The objects of the cluster are left as they are: only the translator's view changes.
 *
 * An IngressClass of Lacquer (`spec.controller: lacquer.dev/ingress-controller`) names its Gateway in
 * `spec.parameters` (`apiGroup: gateway.networking.k8s.io`, `kind: Gateway`, `scope: Namespace`, `namespace`,
 * `name`). An Ingress belongs to the class of its `spec.ingressClassName`, else of its `kubernetes.io/ingress.class`
 * annotation, else to the default class (`ingressclass.kubernetes.io/is-default-class: "true"`) when that is ours.
 *
 * TLS: each host of `spec.tls` becomes an HTTPS listener `ingress.<host>` (`*` written `wildcard`; a TLS entry
 * without hosts gives `ingress.any`, which has no hostname) on the port of the Gateway's first HTTPS listener (443 when
 * it has none), with the Ingress's Secret as certificate (the Ingress naming its own Secret stands for the
 * ReferenceGrant a Gateway in another namespace needs), admitting routes of the Ingress's namespace only. A host the
 * Gateway already has an HTTPS listener for keeps the Gateway's certificate; a host two Ingresses give different
 * Secrets for keeps the older Ingress's. Both are reported on the Ingress that lost.
 *
 * @module
 */
import { type Gateway, GATEWAY_GROUP, type HttpRoute, type Listener, type ReferenceGrant } from "../api_types.ts";
import type { CachePolicy } from "../cache_policy/mod.ts";
import { sameListenerHostname } from "../hostnames.ts";
import type { Snapshot } from "../snapshot.ts";
import { keyOf } from "../snapshot_index.ts";
import { readAnnotations } from "./annotations.ts";
import {
  DEFAULT_CLASS_ANNOTATION,
  type Ingress,
  INGRESS_CONTROLLER_NAME,
  type IngressClass,
  type IngressPath,
  LEGACY_CLASS_ANNOTATION,
} from "./ingress_schema.ts";
import { type CanaryBackend, type IngressProblem, ingressRoutes } from "./ingress_routes.ts";

/** What became of one Ingress of a Lacquer class. */
export interface IngressOutcome {
  /** Its `namespace/name`. */
  key: string;
  /** The Ingress. */
  ingress: Ingress;
  /** The Gateway its class names (`namespace/name`), when the class names one. */
  gateway?: string;
  /** The names of the routes made from it, in its namespace. */
  routes: string[];
  /** The HTTPS listeners made from its TLS. */
  listeners: string[];
  /** What it asks for that is not served as asked. */
  problems: IngressProblem[];
}

/** The snapshot with the Ingresses expanded, and what became of each. */
export interface ExpandedIngresses {
  /** What the translator reads. */
  snapshot: Snapshot;
  /** Every Ingress of a Lacquer class, sorted by key. */
  ingresses: IngressOutcome[];
  /** The names of the listeners made from Ingress TLS, per Gateway key. */
  listeners: Map<string, Set<string>>;
}

/** The prefix of the HTTPS listeners made from Ingress TLS. */
export const INGRESS_LISTENER_PREFIX = "ingress.";

const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

function byAge(a: Ingress, b: Ingress): number {
  const ka = `${a.metadata.creationTimestamp ?? ""}\u0000${keyOf(a.metadata.namespace, a.metadata.name)}`;
  const kb = `${b.metadata.creationTimestamp ?? ""}\u0000${keyOf(b.metadata.namespace, b.metadata.name)}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * The Lacquer IngressClass an Ingress belongs to, if any.
 *
 * @param ingress The Ingress.
 * @param classes Every IngressClass.
 * @returns The class, when it is one of Lacquer's.
 */
export function ingressClassOf(ingress: Ingress, classes: readonly IngressClass[]): IngressClass | undefined {
  const named = ingress.spec.ingressClassName ?? ingress.metadata.annotations?.[LEGACY_CLASS_ANNOTATION];
  const cls = named === undefined
    ? classes.filter((c) => c.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === "true")
      .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))[0]
    : classes.find((c) => c.metadata.name === named);
  return cls?.spec.controller === INGRESS_CONTROLLER_NAME ? cls : undefined;
}

/**
 * The Gateway a Lacquer IngressClass names, or why it names none.
 *
 * @param cls The class.
 * @returns The Gateway's `namespace/name`, or the problem.
 */
export function classGateway(cls: IngressClass): { gateway: string } | { problem: IngressProblem } {
  const p = cls.spec.parameters;
  if (!p || p.apiGroup !== GATEWAY_GROUP || p.kind !== "Gateway" || !p.namespace) {
    const names = !p
      ? "has no spec.parameters"
      : p.apiGroup !== GATEWAY_GROUP || p.kind !== "Gateway"
      ? `names ${p.kind} of group "${p.apiGroup ?? ""}" in spec.parameters`
      : "names a Gateway without a namespace in spec.parameters";
    return {
      problem: {
        reason: "NoGateway",
        message: `IngressClass "${cls.metadata.name}" ${names}, so its Ingresses are served nowhere: set ` +
          `spec.parameters to a Gateway (apiGroup: ${GATEWAY_GROUP}, kind: Gateway, scope: Namespace, namespace, name)`,
      },
    };
  }
  return { gateway: keyOf(p.namespace, p.name) };
}

/**
 * The Gateway (`namespace/name`) that serves an Ingress: the one its Lacquer IngressClass names.
 *
 * @param ingress The Ingress.
 * @param classes Every IngressClass.
 * @returns The Gateway's key; undefined when the Ingress is not of a Lacquer class or its class names no Gateway.
 */
export function ingressGateway(ingress: Ingress, classes: readonly IngressClass[]): string | undefined {
  const cls = ingressClassOf(ingress, classes);
  const target = cls && classGateway(cls);
  return target && "gateway" in target ? target.gateway : undefined;
}

/** The listener name for a TLS host. */
function listenerName(host: string): string {
  return `${INGRESS_LISTENER_PREFIX}${host ? host.replace("*", "wildcard") : "any"}`;
}

/** The HTTPS listeners and ReferenceGrants one Gateway gets from its Ingresses' TLS. */
function tlsListeners(
  gateway: Gateway,
  ingresses: readonly Ingress[],
  outcomes: ReadonlyMap<Ingress, IngressOutcome>,
): { listeners: Listener[]; grants: ReferenceGrant[] } {
  const gwNs = gateway.metadata.namespace ?? "";
  const own = gateway.spec.listeners;
  const port = own.find((l) => l.protocol === "HTTPS")?.port ?? 443;
  const listeners = new Map<string, { listener: Listener; owner: string }>();
  const grants: ReferenceGrant[] = [];
  for (const ingress of ingresses) {
    const outcome = outcomes.get(ingress)!;
    const ns = ingress.metadata.namespace ?? "";
    for (const tls of ingress.spec.tls) {
      for (const host of tls.hosts.length === 0 ? [""] : tls.hosts) {
        const hostname = host || undefined;
        const shown = host || "any host";
        if (!tls.secretName) {
          outcome.problems.push({ reason: "NoTLSSecret", message: `TLS for ${shown} names no secretName` });
          continue;
        }
        if (own.some((l) => l.protocol === "HTTPS" && l.port === port && sameListenerHostname(l.hostname, hostname))) {
          outcome.problems.push({
            reason: "TLSHostServedByGateway",
            message: `TLS for ${shown}: Gateway "${keyOf(gwNs, gateway.metadata.name)}" has its own HTTPS listener ` +
              `for it, whose certificate is served instead of Secret "${tls.secretName}"`,
          });
          continue;
        }
        const name = listenerName(host);
        const taken = listeners.get(name);
        const secret = `${ns}/${tls.secretName}`;
        if (taken) {
          if (taken.owner !== secret) {
            outcome.problems.push({
              reason: "TLSHostConflict",
              message: `TLS for ${shown}: an older Ingress serves it with Secret "${taken.owner}", not "${secret}"`,
            });
          } else outcome.listeners.push(name);
          continue;
        }
        listeners.set(name, {
          owner: secret,
          listener: {
            name,
            port,
            protocol: "HTTPS",
            ...(hostname ? { hostname } : {}),
            tls: {
              mode: "Terminate",
              certificateRefs: [{ group: "", kind: "Secret", name: tls.secretName, namespace: ns }],
            },
            allowedRoutes: {
              namespaces: { from: "Selector", selector: { matchLabels: { [NAMESPACE_NAME_LABEL]: ns } } },
            },
          },
        });
        outcome.listeners.push(name);
        if (ns !== gwNs) {
          grants.push({
            metadata: { name: `ingress-tls:${keyOf(gwNs, gateway.metadata.name)}:${tls.secretName}`, namespace: ns },
            spec: {
              from: [{ group: GATEWAY_GROUP, kind: "Gateway", namespace: gwNs }],
              to: [{ group: "", kind: "Secret", name: tls.secretName }],
            },
          });
        }
      }
    }
  }
  return { listeners: [...listeners.values()].map((l) => l.listener), grants };
}

/** The Gateway with listeners added: the memoised object while they are the same as last time. */
function withListeners(
  gateway: Gateway,
  added: readonly Listener[],
  memo: WeakMap<Gateway, { listeners: string; gateway: Gateway }>,
): Gateway {
  if (added.length === 0) return gateway;
  const listeners = JSON.stringify(added);
  const known = memo.get(gateway);
  if (known?.listeners === listeners) return known.gateway;
  const result = { ...gateway, spec: { ...gateway.spec, listeners: [...gateway.spec.listeners, ...added] } };
  memo.set(gateway, { listeners, gateway: result });
  return result;
}

/** The canary backends of one namespace's canary Ingresses, by host and path; tracks which were used. */
class Canaries {
  #entries: {
    ingress: Ingress;
    host: string;
    path: IngressPath;
    used: boolean;
    settings: CanaryBackend["settings"];
  }[] = [];

  add(ingress: Ingress, settings: CanaryBackend["settings"]): void {
    for (const rule of ingress.spec.rules) {
      for (const path of rule.http?.paths ?? []) {
        this.#entries.push({ ingress, host: rule.host ?? "", path, used: false, settings });
      }
    }
  }

  of(namespace: string, host: string, path: IngressPath): CanaryBackend[] {
    return this.#entries.filter((e) =>
      e.ingress.metadata.namespace === namespace && e.host === host && e.path.path === path.path &&
      e.path.pathType === path.pathType
    ).map((e) => {
      e.used = true;
      return {
        ingress: keyOf(e.ingress.metadata.namespace, e.ingress.metadata.name),
        backend: e.path.backend,
        settings: e.settings,
      };
    });
  }

  unused(): { ingress: Ingress; host: string; path: IngressPath }[] {
    return this.#entries.filter((e) => !e.used);
  }
}

/**
 * Expands the Ingresses of Lacquer's IngressClasses into routes, listeners, ReferenceGrants and CachePolicy targets.
 *
 * @example Usage
 * ```ts
 * import { emptySnapshot } from "../snapshot.ts";
 * import { expandIngresses } from "./expand_ingresses.ts";
 * const { snapshot, ingresses } = expandIngresses(emptySnapshot());
 * // ingresses.length === 0
 * ```
 *
 * @param snapshot What the operator read, Ingresses and IngressClasses included.
 * @param gatewayMemo Gateways with listeners added by earlier calls, reused while the listeners are the same.
 * @returns The snapshot to translate and what became of each Ingress.
 */
export function expandIngresses(
  snapshot: Snapshot,
  gatewayMemo: WeakMap<Gateway, { listeners: string; gateway: Gateway }> = new WeakMap(),
): ExpandedIngresses {
  const none = { snapshot, ingresses: [], listeners: new Map() };
  if (snapshot.ingresses.length === 0) return none;
  const gateways = new Map(snapshot.gateways.map((g) => [keyOf(g.metadata.namespace, g.metadata.name), g]));
  const outcomes = new Map<Ingress, IngressOutcome>();
  const byGateway = new Map<string, Ingress[]>();
  for (const ingress of [...snapshot.ingresses].sort(byAge)) {
    const cls = ingressClassOf(ingress, snapshot.ingressClasses);
    if (!cls) continue;
    const key = keyOf(ingress.metadata.namespace, ingress.metadata.name);
    const outcome: IngressOutcome = { key, ingress, routes: [], listeners: [], problems: [] };
    outcomes.set(ingress, outcome);
    const target = classGateway(cls);
    if ("problem" in target) {
      outcome.problems.push(target.problem);
      continue;
    }
    outcome.gateway = target.gateway;
    if (!gateways.has(target.gateway)) {
      outcome.problems.push({ reason: "GatewayNotFound", message: `Gateway "${target.gateway}" not found` });
      continue;
    }
    byGateway.set(target.gateway, [...(byGateway.get(target.gateway) ?? []), ingress]);
  }
  if (outcomes.size === 0) return none;
  const routes: HttpRoute[] = [];
  const grants: ReferenceGrant[] = [];
  const listenerNames = new Map<string, Set<string>>();
  const policyTargets = new Map<string, string[]>();
  const services = new Map(snapshot.services.map((s) => [keyOf(s.metadata.namespace, s.metadata.name), s]));
  for (const [gwKey, ingresses] of byGateway) {
    const original = gateways.get(gwKey)!;
    const tls = tlsListeners(original, ingresses, outcomes);
    const gateway = withListeners(original, tls.listeners, gatewayMemo);
    gateways.set(gwKey, gateway);
    grants.push(...tls.grants);
    listenerNames.set(gwKey, new Set(tls.listeners.map((l) => l.name)));
    const canaries = new Canaries();
    const annotations = new Map(ingresses.map((i) => [i, readAnnotations(i.metadata.annotations)]));
    for (const ingress of ingresses) {
      const settings = annotations.get(ingress)!.canary;
      if (settings) canaries.add(ingress, settings);
    }
    for (const ingress of ingresses) {
      const outcome = outcomes.get(ingress)!;
      const read = annotations.get(ingress)!;
      outcome.problems.push(
        ...read.problems.map((p) => ({
          reason: `${p.kind}Annotation`,
          message: `annotation "${p.annotation}": ${p.message}`,
        })),
      );
      if (read.canary) continue;
      const ns = ingress.metadata.namespace ?? "";
      const made = ingressRoutes(ingress, {
        gateway,
        annotations: read,
        services,
        canaries: (host, path) => canaries.of(ns, host, path),
      });
      outcome.problems.push(...made.problems);
      outcome.routes = made.routes.map((r) => r.metadata.name);
      routes.push(...made.routes);
      if (read.cachePolicy) {
        const policy = keyOf(ns, read.cachePolicy);
        policyTargets.set(policy, [...(policyTargets.get(policy) ?? []), ...outcome.routes]);
      }
    }
    for (const { ingress, host, path } of canaries.unused()) {
      outcomes.get(ingress)!.problems.push({
        reason: "CanaryWithoutMain",
        message: `canary path "${path.path}" (${path.pathType}) of host "${host || "*"}" matches no path of a ` +
          `non-canary Ingress of the namespace on the same Gateway`,
      });
    }
  }
  const routesOf = new Map([...outcomes.values()].map((o) => [o.key, o.routes]));
  const cachePolicies = snapshot.cachePolicies.map((p): CachePolicy => {
    const names = policyTargets.get(keyOf(p.metadata.namespace, p.metadata.name)) ?? [];
    policyTargets.delete(keyOf(p.metadata.namespace, p.metadata.name));
    const existing: unknown[] = Array.isArray(p.spec.targetRefs) ? p.spec.targetRefs : [];
    const isIngress = (t: unknown) => (t as { kind?: unknown } | null)?.kind === "Ingress";
    if (names.length === 0 && !existing.some(isIngress)) return p;
    // An Ingress target stands for the Ingress's routes (none when it is not served: nothing to cache).
    for (const t of existing.filter(isIngress)) {
      names.push(...routesOf.get(keyOf(p.metadata.namespace, (t as { name: string }).name)) ?? []);
    }
    const added = [...new Set(names)].map((name) => ({ group: GATEWAY_GROUP, kind: "HTTPRoute" as const, name }));
    if (added.length === 0) return p;
    return { ...p, spec: { ...p.spec, targetRefs: [...existing.filter((t) => !isIngress(t)), ...added] } };
  });
  for (const outcome of outcomes.values()) {
    const policy = readAnnotations(outcome.ingress.metadata.annotations).cachePolicy;
    const key = policy && keyOf(outcome.ingress.metadata.namespace, policy);
    if (key && policyTargets.has(key)) {
      outcome.problems.push({ reason: "CachePolicyNotFound", message: `CachePolicy "${key}" not found` });
    }
  }
  return {
    snapshot: {
      ...snapshot,
      gateways: snapshot.gateways.map((g) => gateways.get(keyOf(g.metadata.namespace, g.metadata.name)) ?? g),
      httpRoutes: [...snapshot.httpRoutes, ...routes],
      referenceGrants: [...snapshot.referenceGrants, ...grants],
      cachePolicies,
    },
    ingresses: [...outcomes.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
    listeners: listenerNames,
  };
}
