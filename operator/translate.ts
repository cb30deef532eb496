/**
 * The pure translation at the heart of the operator (STYLE.md §3, Envoy Gateway's `Translator.Translate`): a
 * {@linkcode Snapshot} of API objects in, and out come, for every Gateway of our classes, its routing.json,
 * main.vcl, child objects and status, plus the GatewayClass statuses and our HTTPRoute parent status entries.
 * No I/O, no clock: `now` is an argument, used only as the `lastTransitionTime` of conditions that flip.
 *
 * @module
 */
import { ROUTING_JSON_VERSION, type RoutingJson } from "../ghost/contract/mod.ts";
import { CONTROLLER_NAME, LACQUER_GROUP } from "../internal/names.ts";
import { generateMainVcl } from "../vcl/mod.ts";
import type { Condition, Gateway, GatewayClass, HttpRoute, ParentRef } from "./api_types.ts";
import { attachRoute } from "./attach.ts";
import { buildChildren, type ChildObject, sha256 } from "./children.ts";
import {
  classAccepted,
  classInvalidParameters,
  classSupportedVersion,
  classUnsupportedVersion,
  gatewayAccepted,
  gatewayInvalidParameters,
  gatewayListenersNotValid,
  gatewayUnsupportedAddress,
  listenerNotProgrammed,
  listenerProgrammed,
  mergeConditions,
  type NewCondition,
  routeNotAccepted,
  routePartiallyInvalid,
  routeRefsNotResolved,
  routeResolvedRefs,
} from "./conditions.ts";
import { GATEWAY_API_VERSION, SUPPORTED_FEATURES } from "./features.ts";
import {
  GATEWAY_PARAMETERS_KIND,
  type GatewayParameters,
  type ParameterDefaults,
  resolveParameters,
} from "./gateway_parameters.ts";
import { validateListeners } from "./listeners.ts";
import { buildTlsBundles } from "./tls_bundles.ts";
import { gatewayProgrammedStatus } from "./programmed.ts";
import { stringifyRouting } from "./routing_text.ts";
import { type RuleEntry, type RulesResult, translateRules } from "./rules.ts";
import type { Snapshot } from "./snapshot.ts";
import { indexSnapshot, keyOf, type SnapshotIndex } from "./snapshot_index.ts";

/** Options for {@linkcode translate}. */
export interface TranslateOptions {
  /** The current time (RFC 3339, whole seconds) for conditions whose status flips. */
  now: string;
  /** Defaults for GatewayParameters fields nobody set. */
  defaults: ParameterDefaults;
  /** Translate only these Gateways (`namespace/name`); keys of missing Gateways yield route cleanups. @default {all of ours} */
  gateways?: readonly string[];
  /** The Gateway API bundle version of the installed CRDs, when known (for SupportedVersion). */
  crdBundleVersion?: string;
  /** Handle only these GatewayClasses (of our controller); others are left to other instances. @default {all} */
  gatewayClassNames?: readonly string[];
}

/** The computed status of a GatewayClass. */
export interface GatewayClassResult {
  /** Its name. */
  name: string;
  /** Its status. */
  status: { conditions: Condition[]; supportedFeatures: { name: string }[] };
}

/** The status of one listener. */
export interface ListenerStatus {
  /** Listener name. */
  name: string;
  /** Supported route kinds. */
  supportedKinds: { group: string; kind: string }[];
  /** Number of routes attached. */
  attachedRoutes: number;
  /** Conditions. */
  conditions: Condition[];
}

/** The computed status of a Gateway. */
export interface GatewayStatus {
  /** Addresses of the gateway Service. */
  addresses: { type: string; value: string }[];
  /** Conditions. */
  conditions: Condition[];
  /** Per-listener status, in spec order. */
  listeners: ListenerStatus[];
}

/** The translation of one Gateway. */
export interface GatewayResult {
  /** `namespace/name`. */
  key: string;
  /** Namespace. */
  namespace: string;
  /** Name. */
  name: string;
  /** Its status. */
  status: GatewayStatus;
  /** routing.json, when the Gateway is configured. */
  routing?: RoutingJson;
  /** The routing.json text (the product's serializer). */
  routingJson?: string;
  /** main.vcl text. */
  mainVcl?: string;
  /** Child objects to apply; undefined means "leave the existing children alone" (invalid parameters). */
  children?: ChildObject[];
}

/** A route's parent status entry. */
export interface RouteParentStatus {
  /** The parentRef it describes. */
  parentRef: Record<string, unknown>;
  /** Our controller name. */
  controllerName: string;
  /** Conditions. */
  conditions: Condition[];
}

/** Our parent status entries of one route for one Gateway (empty: remove ours for that Gateway). */
export interface RouteStatusResult {
  /** The route's `namespace/name`. */
  key: string;
  /** The Gateway these entries are about (`namespace/name`). */
  gateway: string;
  /** The entries, in parentRef order. */
  parents: RouteParentStatus[];
}

/** Everything {@linkcode translate} computes. */
export interface TranslateResult {
  /** Our GatewayClasses. */
  gatewayClasses: GatewayClassResult[];
  /** The translated Gateways, sorted by key. */
  gateways: GatewayResult[];
  /** Route status entries, per route and Gateway. */
  routes: RouteStatusResult[];
}

function classParameters(
  cls: GatewayClass,
  index: SnapshotIndex,
): { params?: GatewayParameters; problem?: string } {
  const ref = cls.spec.parametersRef;
  if (!ref) return {};
  if (ref.group !== LACQUER_GROUP || ref.kind !== GATEWAY_PARAMETERS_KIND) {
    return {
      problem: `parametersRef must name a ${LACQUER_GROUP}/${GATEWAY_PARAMETERS_KIND}, not ${ref.group}/${ref.kind}`,
    };
  }
  if (!ref.namespace) return { problem: `parametersRef to ${GATEWAY_PARAMETERS_KIND} "${ref.name}" needs a namespace` };
  const params = index.parameters.get(keyOf(ref.namespace, ref.name));
  if (!params) return { problem: `${GATEWAY_PARAMETERS_KIND} "${ref.namespace}/${ref.name}" not found` };
  return { params };
}

function translateClass(cls: GatewayClass, index: SnapshotIndex, options: TranslateOptions): GatewayClassResult {
  const gen = cls.metadata.generation;
  const { problem } = classParameters(cls, index);
  const minor = (v: string) => /^v?(\d+)\.(\d+)/.exec(v)?.slice(1, 3).join(".");
  const version = options.crdBundleVersion;
  const versionOk = version === undefined || minor(version) === minor(GATEWAY_API_VERSION);
  const conditions: NewCondition[] = [
    problem ? classInvalidParameters(`GatewayClass ${problem}`, gen) : classAccepted(gen),
    versionOk
      ? classSupportedVersion(`Gateway API ${version ?? GATEWAY_API_VERSION} is supported`, gen)
      : classUnsupportedVersion(
        `Installed Gateway API CRDs are ${version}; Lacquer supports ${GATEWAY_API_VERSION}`,
        gen,
      ),
  ];
  return {
    name: cls.metadata.name,
    status: {
      conditions: mergeConditions(cls.status?.conditions, conditions, options.now),
      supportedFeatures: SUPPORTED_FEATURES.map((name) => ({ name })),
    },
  };
}

function parentRefOut(ref: ParentRef): Record<string, unknown> {
  return {
    group: ref.group,
    kind: ref.kind,
    ...(ref.namespace === undefined ? {} : { namespace: ref.namespace }),
    name: ref.name,
    ...(ref.sectionName === undefined ? {} : { sectionName: ref.sectionName }),
    ...(ref.port === undefined ? {} : { port: ref.port }),
  };
}

function sameParentRef(a: Record<string, unknown>, b: ParentRef, routeNs: string): boolean {
  return (a.group ?? "gateway.networking.k8s.io") === b.group && (a.kind ?? "Gateway") === b.kind &&
    ((a.namespace as string | undefined) ?? routeNs) === (b.namespace ?? routeNs) && a.name === b.name &&
    a.sectionName === b.sectionName && a.port === b.port;
}

/** Sorts routes by creation time, then `namespace/name` (the precedence tie-breakers), computing keys once. */
function sortRoutes(routes: readonly HttpRoute[]): HttpRoute[] {
  const keyed = routes.map((r) => ({
    r,
    k: `${r.metadata.creationTimestamp ?? ""}\u0000${r.metadata.namespace ?? ""}/${r.metadata.name}`,
  }));
  keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  return keyed.map((x) => x.r);
}

function refsCondition(rules: RulesResult, gen: number | undefined): NewCondition {
  if (rules.refProblems.length === 0) return routeResolvedRefs(gen);
  const messages = [...new Set(rules.refProblems.map((p) => p.message))];
  return routeRefsNotResolved(rules.refProblems[0].reason, messages.join("; "), gen);
}

interface GatewayParts {
  problem?: { reason: "InvalidParameters" | "UnsupportedAddress"; message: string };
  params: GatewayParameters[];
}

function gatewayParts(gateway: Gateway, cls: GatewayClass, index: SnapshotIndex): GatewayParts {
  const classParams = classParameters(cls, index);
  if (classParams.problem) {
    return {
      problem: { reason: "InvalidParameters", message: `GatewayClass "${cls.metadata.name}": ${classParams.problem}` },
      params: [],
    };
  }
  const params = classParams.params ? [classParams.params] : [];
  const ref = gateway.spec.infrastructure?.parametersRef;
  if (ref) {
    if (ref.group !== LACQUER_GROUP || ref.kind !== GATEWAY_PARAMETERS_KIND) {
      return {
        problem: {
          reason: "InvalidParameters",
          message:
            `infrastructure.parametersRef must name a ${LACQUER_GROUP}/${GATEWAY_PARAMETERS_KIND}, not ${ref.group}/${ref.kind}`,
        },
        params,
      };
    }
    const own = index.parameters.get(keyOf(gateway.metadata.namespace, ref.name));
    if (!own) {
      return {
        problem: {
          reason: "InvalidParameters",
          message: `${GATEWAY_PARAMETERS_KIND} "${gateway.metadata.namespace}/${ref.name}" not found`,
        },
        params,
      };
    }
    params.push(own);
  }
  if ((gateway.spec.addresses ?? []).length > 0) {
    return {
      problem: {
        reason: "UnsupportedAddress",
        message: "spec.addresses is not supported: addresses come from the gateway Service",
      },
      params,
    };
  }
  return { params };
}

interface RouteContext {
  key: string;
  gateway: Gateway;
  listeners: ReturnType<typeof validateListeners>;
  index: SnapshotIndex;
  now: string;
  signature: string;
}

interface RouteOnGateway {
  status: RouteStatusResult;
  attachments: { listener: string; hostnames: string[] }[];
}

const routeCache = new WeakMap<
  HttpRoute,
  { gateway: Gateway; signature: string; rules: RulesResult; namespace: unknown; result: RouteOnGateway }
>();

/**
 * Attaches one route to one Gateway and computes its parent status entries. Cached per route object while the
 * Gateway object, its listeners, the route's rules result and its namespace object are the same.
 */
function routeOnGateway(route: HttpRoute, rules: RulesResult, ctx: RouteContext): RouteOnGateway {
  const routeNs = route.metadata.namespace ?? "";
  const namespace = ctx.index.namespaces.get(routeNs);
  const cached = routeCache.get(route);
  if (
    cached && cached.gateway === ctx.gateway && cached.signature === ctx.signature && cached.rules === rules &&
    cached.namespace === namespace
  ) return cached.result;
  const routeGen = route.metadata.generation;
  const parents: RouteParentStatus[] = [];
  const attachments: RouteOnGateway["attachments"] = [];
  for (const ref of route.spec.parentRefs) {
    if (ref.group !== "gateway.networking.k8s.io" || ref.kind !== "Gateway") continue;
    if (keyOf(ref.namespace ?? routeNs, ref.name) !== ctx.key) continue;
    const attach = attachRoute(route, ref, ctx);
    const conditions: NewCondition[] = [];
    const attachedOk = attach.accepted.status === "True";
    if (attachedOk && rules.allInvalid) {
      conditions.push(routeNotAccepted(
        rules.incompatibleFilters ? "IncompatibleFilters" : "UnsupportedValue",
        `No rule of the route can be served: ${rules.ruleProblems.join("; ")}`,
        routeGen,
      ));
    } else conditions.push(attach.accepted);
    conditions.push(refsCondition(rules, routeGen));
    if (attachedOk && !rules.allInvalid && rules.ruleProblems.length > 0) {
      conditions.push(routePartiallyInvalid(rules.ruleProblems.join("; "), routeGen));
    }
    const old = route.status?.parents.find((p) =>
      p.controllerName === CONTROLLER_NAME && sameParentRef(p.parentRef, ref, routeNs)
    );
    parents.push({
      parentRef: parentRefOut(ref),
      controllerName: CONTROLLER_NAME,
      conditions: mergeConditions(old?.conditions, conditions, ctx.now),
    });
    if (!attachedOk || rules.allInvalid) continue;
    for (const a of attach.attachments) {
      attachments.push({ listener: a.listener.listener.name, hostnames: a.hostnames });
    }
  }
  const result = { status: { key: keyOf(routeNs, route.metadata.name), gateway: ctx.key, parents }, attachments };
  routeCache.set(route, { gateway: ctx.gateway, signature: ctx.signature, rules, namespace, result });
  return result;
}

function translateGateway(
  gateway: Gateway,
  cls: GatewayClass,
  index: SnapshotIndex,
  options: TranslateOptions,
  ruleCache: Map<HttpRoute, RulesResult>,
): { gateway: GatewayResult; routes: RouteStatusResult[] } {
  const ns = gateway.metadata.namespace ?? "";
  const key = keyOf(ns, gateway.metadata.name);
  const gen = gateway.metadata.generation;
  const parts = gatewayParts(gateway, cls, index);
  const params = resolveParameters(parts.params, options.defaults);
  let problem = parts.problem;
  let userVcl: string | undefined;
  if (!problem && params.vcl) {
    const cm = index.configMaps.get(keyOf(params.vcl.namespace, params.vcl.name));
    userVcl = cm?.data[params.vcl.key];
    if (userVcl === undefined) {
      problem = {
        reason: "InvalidParameters",
        message: cm
          ? `ConfigMap "${params.vcl.namespace}/${params.vcl.name}" has no key "${params.vcl.key}"`
          : `ConfigMap "${params.vcl.namespace}/${params.vcl.name}" not found`,
      };
    }
  }
  const listeners = validateListeners(gateway, index);
  const listenerOrder = new Map(listeners.map((l, i) => [l.listener.name, i]));
  const attached = new Map<string, Set<string>>(listeners.map((l) => [l.listener.name, new Set()]));
  const vhosts = new Map<
    string,
    Map<RuleEntry, { entry: RoutingJson["vhosts"][string]["routes"][number]; set: Set<string> }>
  >();
  const backendNamespaces = new Set<string>();
  const routeResults: RouteStatusResult[] = [];

  const routes = sortRoutes(index.routesByGateway.get(key) ?? []);
  const context = {
    key,
    gateway,
    listeners,
    index,
    now: options.now,
    // Everything about the listeners that attachment reads; a cached route result is reused only when it matches.
    signature: JSON.stringify(listeners.map((l) => [l.listener, l.attachable, l.supportedKinds])),
  };
  const served = new Set(listeners.filter((l) => l.usable).map((l) => l.listener.name));
  for (const route of routes) {
    let rules = ruleCache.get(route);
    if (!rules) {
      rules = translateRules(route, index);
      ruleCache.set(route, rules);
    }
    const onGateway = routeOnGateway(route, rules, context);
    routeResults.push(onGateway.status);
    const routeKey = onGateway.status.key;
    for (const { listener, hostnames } of onGateway.attachments) {
      attached.get(listener)?.add(routeKey);
      if (!served.has(listener)) continue;
      for (const host of hostnames) {
        let vhost = vhosts.get(host);
        if (!vhost) vhosts.set(host, vhost = new Map());
        for (const entry of rules.entries) {
          let slot = vhost.get(entry);
          if (!slot) {
            slot = {
              entry: {
                id: entry.id,
                created: entry.created,
                listeners: [],
                matches: entry.matches,
                filters: entry.filters,
                backends: entry.backends,
              },
              set: new Set(),
            };
            vhost.set(entry, slot);
            for (const b of entry.backends) if (b.service) backendNamespaces.add(b.service.namespace);
          }
          slot.set.add(listener);
        }
      }
    }
  }

  const usable = listeners.filter((l) => l.usable);
  const routing: RoutingJson = {
    version: ROUTING_JSON_VERSION,
    listeners: usable.map((l) => ({
      name: l.listener.name,
      socket: l.socket,
      port: l.listener.port,
      protocol: l.listener.protocol as "HTTP" | "HTTPS",
      ...(l.listener.hostname ? { hostname: l.listener.hostname.toLowerCase() } : {}),
    })),
    vhosts: Object.fromEntries(
      [...vhosts.keys()].sort().map((host) => [host, {
        routes: [...vhosts.get(host)!.values()].map(({ entry, set }) => {
          entry.listeners = set.size === 1
            ? [...set]
            : [...set].sort((a, b) => listenerOrder.get(a)! - listenerOrder.get(b)!);
          return entry;
        }),
      }]),
    ),
  };
  const routingJson = stringifyRouting(routing);
  const mainVcl = generateMainVcl({ gateway: key, userVcl });
  const hashes = { routing: sha256(routingJson), vcl: sha256(mainVcl) };

  const invalidListeners = listeners.filter((l) => !l.usable);
  const accepted: NewCondition = problem
    ? (problem.reason === "UnsupportedAddress"
      ? gatewayUnsupportedAddress(problem.message, gen)
      : gatewayInvalidParameters(problem.message, gen))
    : usable.length === 0
    ? gatewayListenersNotValid("No listener of the Gateway is valid", gen)
    : invalidListeners.length > 0
    ? {
      ...gatewayListenersNotValid(
        `Listeners ${invalidListeners.map((l) => `"${l.listener.name}"`).join(", ")} are not valid`,
        gen,
      ),
      status: "True",
    }
    : gatewayAccepted(gen);
  const programmed = gatewayProgrammedStatus({
    gateway,
    accepted: accepted.status === "True",
    service: index.services.get(key),
    pods: index.podsByGateway.get(key) ?? [],
    hashes,
  });
  const oldListeners = new Map((gateway.status?.listeners ?? []).map((l) => [l.name, l.conditions]));
  const listenerStatus: ListenerStatus[] = listeners.map((l) => {
    const prog = !l.usable
      ? listenerNotProgrammed("Invalid", `Listener is not programmed: ${l.problem}`, gen)
      : programmed.condition.status === "True"
      ? listenerProgrammed(gen)
      : listenerNotProgrammed("Pending", programmed.condition.message, gen);
    return {
      name: l.listener.name,
      supportedKinds: l.supportedKinds.map((k) => ({ group: k.group, kind: k.kind })),
      attachedRoutes: attached.get(l.listener.name)?.size ?? 0,
      conditions: mergeConditions(oldListeners.get(l.listener.name), [...l.conditions, prog], options.now),
    };
  });
  const status: GatewayStatus = {
    addresses: programmed.addresses,
    conditions: mergeConditions(gateway.status?.conditions, [accepted, programmed.condition], options.now),
    listeners: listenerStatus,
  };
  const children = parts.problem || problem ? undefined : buildChildren({
    gateway,
    listeners,
    parameters: params,
    routingJson,
    mainVcl,
    hashes,
    backendNamespaces: [...backendNamespaces],
    tlsBundles: buildTlsBundles(gateway, listeners, index),
  });
  return {
    gateway: {
      key,
      namespace: ns,
      name: gateway.metadata.name,
      status,
      routing,
      routingJson,
      mainVcl,
      ...(children ? { children } : {}),
    },
    routes: routeResults,
  };
}

/**
 * Translates a snapshot into routing.json, main.vcl, child objects and statuses.
 *
 * @example Usage
 * ```ts
 * import { translate } from "./translate.ts";
 * import { emptySnapshot } from "./snapshot.ts";
 * const result = translate(emptySnapshot(), { now: "2026-01-01T00:00:00Z", defaults: { image: "lacquer:dev" } });
 * // result.gateways.length === 0
 * ```
 *
 * @param snapshot The API objects.
 * @param options Clock, defaults and which Gateways to translate.
 * @returns The outputs and statuses.
 */
export function translate(snapshot: Snapshot, options: TranslateOptions): TranslateResult {
  const index = indexSnapshot(snapshot, CONTROLLER_NAME);
  const filter = options.gatewayClassNames;
  const ourController = (cls: GatewayClass | undefined) => cls?.spec.controllerName === CONTROLLER_NAME;
  const ours = (cls: GatewayClass | undefined) =>
    ourController(cls) && (filter === undefined || filter.includes(cls!.metadata.name));
  const gatewayClasses = snapshot.gatewayClasses.filter(ours)
    .map((cls) => translateClass(cls, index, options))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const byKey = new Map(snapshot.gateways.map((g) => [keyOf(g.metadata.namespace, g.metadata.name), g]));
  const keys = options.gateways ? [...new Set(options.gateways)] : [
    ...new Set([
      ...[...byKey.keys()].filter((k) => ours(index.classes.get(byKey.get(k)!.spec.gatewayClassName))),
      ...index.routesByGateway.keys(),
    ]),
  ];
  const gateways: GatewayResult[] = [];
  const routes: RouteStatusResult[] = [];
  const ruleCache = new Map<HttpRoute, RulesResult>();
  for (const key of keys.sort()) {
    const gateway = byKey.get(key);
    const cls = gateway ? index.classes.get(gateway.spec.gatewayClassName) : undefined;
    // Another instance of our controller handles this class: neither translate nor clean up.
    if (gateway && ourController(cls) && !ours(cls)) continue;
    if (!gateway || !cls || !ours(cls)) {
      // Not (or no longer) ours: our status entries on routes that name it must go.
      for (const route of index.routesByGateway.get(key) ?? []) {
        routes.push({ key: keyOf(route.metadata.namespace, route.metadata.name), gateway: key, parents: [] });
      }
      continue;
    }
    const out = translateGateway(gateway, cls, index, options, ruleCache);
    gateways.push(out.gateway);
    routes.push(...out.routes);
  }
  return { gatewayClasses, gateways, routes };
}

/**
 * Merges our new parent entries for one Gateway into a route's current `status.parents`: other controllers'
 * entries and our entries for other Gateways stay where they are; ours for this Gateway are replaced in place
 * (or appended).
 *
 * @param current The route's current `status.parents`.
 * @param update Our entries for one Gateway.
 * @param routeNamespace The route's namespace (the default of parentRef namespaces).
 * @returns The new `status.parents`.
 */
export function mergeRouteParents(
  current: readonly { parentRef: Record<string, unknown>; controllerName: string }[],
  update: RouteStatusResult,
  routeNamespace: string,
): unknown[] {
  const isOurs = (p: { parentRef: Record<string, unknown>; controllerName: string }) =>
    p.controllerName === CONTROLLER_NAME && (p.parentRef.kind ?? "Gateway") === "Gateway" &&
    keyOf((p.parentRef.namespace as string | undefined) ?? routeNamespace, String(p.parentRef.name)) === update.gateway;
  const out: unknown[] = [];
  let inserted = false;
  for (const p of current) {
    if (!isOurs(p)) {
      out.push(p);
      continue;
    }
    if (!inserted) {
      out.push(...update.parents);
      inserted = true;
    }
  }
  if (!inserted) out.push(...update.parents);
  return out;
}
