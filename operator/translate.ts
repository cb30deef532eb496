/**
 * The pure translation at the heart of the operator (Envoy Gateway's `Translator.Translate`): a
 * {@linkcode Snapshot} of API objects in, and out come, for every Gateway of our classes, its routing.json,
 * main.vcl, child objects and status, plus the GatewayClass statuses and our HTTPRoute parent status entries.
 * No I/O, no clock: `now` is an argument, used only as the `lastTransitionTime` of conditions that flip.
 *
 * A Gateway goes through named stages, each a module with its own tests ({@linkcode translateGateway} reads
 * them in order): resolve its configuration (`gateway_config.ts`) and listeners (`listeners.ts`, with those of its
 * ListenerSets: `listener_sets.ts`), attach routes
 * (`attach_routes.ts`), build vhosts (`vhosts.ts`), serialise routing.json (`routing_text.ts`), build children
 * (`children.ts`), compute status (`status/`). Each rule entry names the CachePolicy that applies to it
 * (`cache_policy/`, resolved once per call), whose settings routing.json holds once.
 *
 * @module
 */
import {
  type RoutingJson,
  type RoutingShard,
  type ShardedRouting,
  shardOfHost,
  shardRouting,
  withoutVhosts,
} from "../ghost/contract/mod.ts";
import { contentHash } from "../internal/content_hash.ts";
import { CONTROLLER_NAME, gatewayObjectName, routingShardPrefix } from "../internal/names.ts";
import { routingJsonData } from "../internal/routing_config_map.ts";
import { generateMainVcl, userVclLines } from "../vcl/mod.ts";
import type { BackendTlsPolicy, Gateway, GatewayClass, Pod } from "./api_types.ts";
import { type AttachedRoute, attachedRouteCounts, attachmentListeners, attachToGateway } from "./attach_routes.ts";
import { resolveBackendClientCertificate } from "./backend_client_certificate.ts";
import { type PolicyResolution, resolvePolicies } from "./cache_policy/mod.ts";
import { buildChildren, type ChildObject } from "./children.ts";
import type { GatewayParameters, ParameterDefaults } from "./gateway_parameters.ts";
import { classParameters, type GatewayConfig, resolveGatewayConfig } from "./gateway_config.ts";
import { expandIngresses, INGRESS_ROUTE_PREFIX, type IngressResult, ingressResult } from "./ingress/mod.ts";
import { type ListenerSetResult, mergeListenerSets } from "./listener_sets.ts";
import { validateListeners } from "./listeners.ts";
import {
  byteBudget,
  fitRoutes,
  REGEX_BUDGET,
  regexBudget,
  type RegexLimits,
  ROUTING_BUDGET_BYTES,
  vhostRegexCost,
} from "./routing_budget.ts";
import { routingBytes, stringifyRouting, vhostBytes } from "./routing_text.ts";
import type { RuleEntry } from "./rules.ts";
import type { Snapshot } from "./snapshot.ts";
import { indexSnapshot, keyOf, type SnapshotIndex } from "./snapshot_index.ts";
import {
  backendTlsAncestors,
  type BackendTlsAncestorUpdate,
  currentRejections,
  type GatewayClassResult,
  gatewayClassStatus,
  type GatewayRejections,
  type GatewayStatus,
  gatewayStatus,
  listenerSetStatus,
  type ListenerSetStatusResult,
  type ListenerStatus,
  listenerStatuses,
  routeParentStatus,
  type RouteStatusResult,
} from "./status/mod.ts";
import { buildTlsBundles, verifiesClientCertificates } from "./tls_bundles.ts";
import { groupedVhosts, RouteTable } from "./route_table.ts";
import { AlignedWalk } from "./aligned_walk.ts";
import { type ShardMemo, TranslationMemo } from "./translation_memo.ts";
import { backendNamespaces, buildVhosts, routingDocument, vhostContext, vhostFacts } from "./vhosts.ts";
import type { VhostContribution } from "./vhost_totals.ts";

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
  /** Results of earlier translations to reuse (`translation_memo.ts`). @default {a fresh memo for this call} */
  memo?: TranslationMemo;
  /** The stored size routing.json and main.vcl may take per Gateway (`routing_budget.ts`). @default {ROUTING_BUDGET_BYTES} */
  routingBudgetBytes?: number;
  /** The regular expressions routing.json may hold per Gateway (`routing_budget.ts`). @default {REGEX_BUDGET} */
  regexBudget?: RegexLimits;
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
  /** routing.json as stored in shards, when it is large (`ghost/contract/routing_shards.ts`). */
  routingShards?: ShardedRouting;
  /** main.vcl text. */
  mainVcl?: string;
  /** What the gateway pods rejected of the current configuration. */
  rejections?: GatewayRejections;
  /** How many pod templates the Gateway's live pods run: more than one while its Deployment rolls them. */
  podTemplates?: number;
  /** The GatewayParameters the Gateway uses. */
  parameters?: GatewayParameters[];
  /** Child objects to apply; undefined means "leave the existing children alone" (invalid parameters). */
  children?: ChildObject[];
}

/** Everything {@linkcode translate} computes. */
export interface TranslateResult {
  /** Our GatewayClasses. */
  gatewayClasses: GatewayClassResult[];
  /** The translated Gateways, sorted by key. */
  gateways: GatewayResult[];
  /** Route status entries, per route and parent (HTTPRoutes only: those of Ingresses are told in `ingresses`). */
  routes: RouteStatusResult[];
  /** The ListenerSets whose parent is a Gateway of ours, or a Gateway that does not exist; sorted by key. */
  listenerSets: ListenerSetStatusResult[];
  /** The Ingresses of Lacquer's IngressClasses, sorted by key. */
  ingresses: IngressResult[];
  /** Each translated (or gone) Gateway's entries in the BackendTLSPolicies' `status.ancestors`. */
  backendTlsPolicies: BackendTlsAncestorUpdate[];
}

/** What every stage of one {@linkcode translate} call reads. */
interface Run {
  index: SnapshotIndex;
  options: TranslateOptions;
  memo: TranslationMemo;
  /** Which CachePolicy applies to which rule. */
  policies: PolicyResolution;
  /** The names of the listeners made from Ingress TLS, per Gateway key (`ingress/`). */
  ingressListeners: ReadonlyMap<string, ReadonlySet<string>>;
  /** Every BackendTLSPolicy (each Gateway's translation reports its entry in theirs). */
  backendTlsPolicies: readonly BackendTlsPolicy[];
  /** Every CachePolicy (a route table's vhosts are built again when they are other objects). */
  cachePolicies: readonly unknown[];
}

/**
 * Our parent entries of an attached route, for the Gateway and for each of its ListenerSets the route names; the
 * same objects while the attachment is (the status writer relies on it).
 */
function routeStatus(attached: AttachedRoute, gateway: string, listenerSets: readonly string[], run: Run) {
  const compute = () => {
    const named = new Set(
      attached.parentRefs.filter((ref) => ref.kind === "ListenerSet").map((ref) =>
        keyOf(ref.namespace ?? attached.route.metadata.namespace, ref.name)
      ),
    );
    return [
      routeParentStatus(attached, gateway, run.options.now),
      ...listenerSets.filter((key) => named.has(key)).map((key) =>
        routeParentStatus(attached, key, run.options.now, "ListenerSet")
      ),
    ];
  };
  const memoised = run.memo.attachments.get(attached.route.spec);
  if (memoised?.result !== attached) return compute();
  return memoised.status ??= compute();
}

/** The label the Deployment controller puts on each pod with the hash of its pod template. */
const POD_TEMPLATE_HASH_LABEL = "pod-template-hash";

/** What the Gateway's pods rejected of the current configuration, their VCL line numbers mapped to the user's. */
function gatewayRejections(
  key: string,
  config: GatewayConfig,
  current: { hashes: { routing: string; vcl: string }; tlsBundles: Record<string, string>; pods: readonly Pod[] },
): GatewayRejections {
  const lines = userVclLines({ gateway: key, userVcl: config.userVcl });
  const vcl = config.parameters.vcl;
  const vclSource = vcl && `ConfigMap "${vcl.namespace}/${vcl.name}" key "${vcl.key}"`;
  const problems = currentRejections(current.pods, {
    hashes: current.hashes,
    tlsBundleHashes: new Set(Object.values(current.tlsBundles).map(contentHash)),
    ...(lines && vclSource ? { userVcl: { ...lines, source: vclSource } } : {}),
  });
  const podCount = current.pods.filter((p) => !p.metadata.deletionTimestamp).length;
  return { problems, podCount, ...(vclSource ? { vclSource } : {}) };
}

/**
 * Whether a shard's vhosts table holds the hostnames and vhost objects its memo holds, in the same order: one pass
 * over its hostnames (every shard is looked at on every change).
 */
function sameVhosts(last: ShardMemo, table: RoutingJson["vhosts"]): boolean {
  // the route table's shard groups are the same objects while their hostnames' vhosts are
  if (last.table === table) return true;
  let i = 0;
  for (const host in table) {
    if (last.hosts[i] !== host || last.vhosts[i] !== table[host]) return false;
    i++;
  }
  return i === last.hosts.length;
}

/** What one vhost adds to its route table's totals (`vhost_totals.ts`), each part kept by vhost object. */
function contribution(host: string, vhost: RoutingJson["vhosts"][string], memo: TranslationMemo): VhostContribution {
  const { policies, caBundles, namespaces } = vhostFacts(vhost);
  const { patterns, characters } = vhostRegexCost(vhost);
  return { policies, caBundles, namespaces, bytes: vhostBytes(host, vhost, memo.routeText), patterns, characters };
}

/**
 * The PEM text of each CA bundle the routes' backend groups name (`RulesResult.caBundles`), by key: the routes are
 * read once, when a vhost first names a bundle (never, without BackendTLSPolicies), not once per bundle.
 */
function caBundlesOf(routes: readonly AttachedRoute[]): (key: string) => string | undefined {
  let bundles: Map<string, string> | undefined;
  return (key) => {
    if (bundles === undefined) {
      bundles = new Map();
      for (const { rules } of routes) for (const [k, pem] of rules.caBundles ?? []) bundles.set(k, pem);
    }
    return bundles.get(key);
  };
}

/** What a Gateway's status is computed from besides its pods and its object: the rest of its translation. */
export interface StatusFacts {
  /** The Gateway's `namespace/name`. */
  key: string;
  /** Its resolved configuration. */
  config: GatewayConfig;
  /** Its listeners and those of its ListenerSets. */
  merged: ReturnType<typeof mergeListenerSets>;
  /** The names of the listeners made from Ingress TLS. */
  made: ReadonlySet<string> | undefined;
  /** The routes attached per listener. */
  attachedRoutes: ReturnType<typeof attachedRouteCounts>;
  /** Its Service (addresses). */
  service: Parameters<typeof gatewayStatus>[0]["service"];
  /** The hashes of its routing.json and main.vcl. */
  hashes: { routing: string; vcl: string };
  /** Its TLS bundles. */
  tlsBundles: Record<string, string>;
  /** Its backend client certificate's resolution. */
  clientCertificate: ReturnType<typeof resolveBackendClientCertificate>;
}

/** Step 5 of {@linkcode translateGateway}: the status of a Gateway, its ListenerSets and its Ingress listeners. */
function gatewayStatusPart(gateway: Gateway, pods: readonly Pod[], now: string, facts: StatusFacts) {
  const { key, config, merged, made, attachedRoutes, hashes, tlsBundles } = facts;
  const listeners = merged.listeners;
  const rejections = gatewayRejections(key, config, { hashes, tlsBundles, pods });
  // The listeners made from Ingress TLS are not the Gateway's: they neither count for its Accepted condition nor
  // appear in its status.listeners; their status is told on the Ingresses.
  // Neither are those of ListenerSets: theirs is told on the ListenerSets.
  const own = listeners.filter((l) => !l.listenerSet && !made?.has(l.listener.name));
  const status = gatewayStatus({
    gateway,
    problem: config.problem,
    listeners: own,
    attachedRoutes,
    service: facts.service,
    pods,
    hashes,
    rejections,
    clientCertificate: facts.clientCertificate,
    ownParameters: config.own,
  }, now);
  const accepted = status.conditions.find((c) => c.type === "Accepted")!;
  const programmed = status.conditions.find((c) => c.type === "Programmed")!;
  const listenerSets = merged.listenerSets.map((result) =>
    listenerSetStatus({ result, parentAccepted: accepted, parentProgrammed: programmed, attachedRoutes }, now)
  );
  if (gateway.spec.allowedListeners || listenerSets.length > 0) {
    status.attachedListenerSets = accepted.status === "True"
      ? listenerSets.filter((ls) => ls.status.conditions.some((c) => c.type === "Accepted" && c.status === "True"))
        .length
      : 0;
  }
  const ingressListeners = made && listenerStatuses({
    gateway,
    listeners: listeners.filter((l) => made.has(l.listener.name)),
    attachedRoutes,
    programmed,
  }, now);
  const podTemplates = new Set(
    pods.filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.labels?.[POD_TEMPLATE_HASH_LABEL]),
  ).size;
  return { status, rejections, podTemplates, listenerSets, ingressListeners };
}

/**
 * A Gateway's last translation (in a memo) with its status computed again for other pods and another version of
 * the Gateway with the same spec, labels and annotations, and its ListenerSets' status: what translating again
 * gives when nothing else changed, without reading the routes. The caller knows nothing else changed.
 *
 * @example Usage
 * ```ts
 * import { restatusGateway, translate } from "./translate.ts";
 * import { TranslationMemo } from "./translation_memo.ts";
 * import { emptySnapshot } from "./snapshot.ts";
 * const memo = new TranslationMemo();
 * translate(emptySnapshot(), { now: "2026-01-01T00:00:00Z", defaults: { image: "lacquer:dev" }, memo });
 * restatusGateway(memo, "ns/gw", undefined!, [], "2026-01-01T00:00:00Z"); // undefined: never translated
 * ```
 *
 * @param memo The memo of the Gateway's last translation.
 * @param key The Gateway's `namespace/name`.
 * @param gateway The Gateway now.
 * @param pods Its pods now.
 * @param now The current time.
 * @returns The Gateway's result and its ListenerSets' status; undefined when the memo has no translation of it that
 * this can redo (none, or it has listeners made from Ingresses, whose status is told on them).
 */
export function restatusGateway(
  memo: TranslationMemo,
  key: string,
  gateway: Gateway,
  pods: readonly Pod[],
  now: string,
): { gateway: GatewayResult; listenerSets: ListenerSetStatusResult[] } | undefined {
  const last = memo.gatewayStatus.get(key);
  if (!last) return undefined;
  const part = gatewayStatusPart(gateway, pods, now, last.facts);
  // a copy keeping the getter of its routing.json text
  const copy = Object.defineProperties({}, Object.getOwnPropertyDescriptors(last.result)) as GatewayResult;
  const { status, rejections, podTemplates } = part;
  return { gateway: Object.assign(copy, { status, rejections, podTemplates }), listenerSets: part.listenerSets };
}

/** The pipeline for one Gateway of ours. */
function translateGateway(
  gateway: Gateway,
  cls: GatewayClass,
  run: Run,
): {
  result: GatewayResult;
  routes: RouteStatusResult[];
  ingressListeners?: ListenerStatus[];
  listenerSets: ListenerSetStatusResult[];
  backendTlsPolicies: BackendTlsAncestorUpdate[];
} {
  const { index, memo, options } = run;
  const { namespace = "", name } = gateway.metadata;
  const key = keyOf(namespace, name);
  const config = resolveGatewayConfig(gateway, cls, { index, defaults: options.defaults });
  // The Gateway's listeners, then those of the ListenerSets it allows.
  const merged = mergeListenerSets(
    gateway,
    validateListeners(gateway, index),
    index.listenerSetsByGateway.get(key) ?? [],
    index,
  );
  const listeners = merged.listeners;
  const listenerSetKeys = merged.listenerSets.map((ls) => ls.key);
  // 1. Attach routes. 2. Build vhosts. 3. Serialise routing.json (and main.vcl).
  // The Gateway's route table attaches again only the routes that changed and rebuilds only their hostnames' vhosts.
  const attachContext = { key, gateway, listeners, listenerSets: listenerSetKeys, index, memo };
  const attachText = attachmentListeners(attachContext);
  const cacheFor = (listener: string, id: RuleEntry["id"]) => run.policies.cacheFor({ namespace, name }, listener, id);
  const tableContext = {
    key,
    gateway: gateway.spec,
    listeners: `${attachText}${JSON.stringify(listeners.map((l) => l.usable))}`,
  };
  let table = memo.routeTables.get(key);
  if (!table?.fits(tableContext)) memo.routeTables.set(key, table = new RouteTable(tableContext, table));
  table.update(
    index.routesByGateway.get(key) ?? [],
    (route) => attachToGateway(route, attachContext, attachText),
    index,
    { ...vhostContext(listeners, cacheFor), policies: run.cachePolicies },
  );
  const attached = table.attached;
  const mainVcl = generateMainVcl({
    gateway: key,
    userVcl: config.userVcl,
    clientVerifySockets: listeners.filter(verifiesClientCertificates).map((l) => l.socket),
  });
  const lastShards = memo.shardHashes.get(gateway.spec);
  const shards = new Map<string, ShardMemo>();
  const render = (routes: readonly AttachedRoute[]) => {
    // All the routes: the table's vhosts, built only when read (shards come from the table's groups) with what they
    // add up to kept by the table; fewer (past a budget): built afresh.
    const totals = routes === attached ? table.totals((host, vhost) => contribution(host, vhost, memo)) : undefined;
    // The table changes with the next update: a result read later builds its vhosts from this translation's shard
    // groups (tables that are replaced, never changed), or from the table while it is this translation's.
    let groups: ReadonlyMap<number, RoutingJson["vhosts"]> | undefined;
    const routing = routingDocument(
      listeners,
      totals ? () => groups ? groupedVhosts(groups) : table.vhosts() : buildVhosts(listeners, routes, cacheFor),
      {
        caBundleOf: caBundlesOf(routes),
        requests: config.parameters.requests,
        cluster: config.parameters.clusteredCache
          ? { service: { namespace, name: gatewayObjectName(name) } }
          : undefined,
        settingsOf: (policy) => run.policies.settingsOf(policy),
        ...(totals ? { facts: { policies: totals.policies(), caBundles: totals.caBundles() } } : {}),
      },
    );
    const stringify = (doc: RoutingJson) => stringifyRouting(doc, memo.routeText);
    // A shard whose vhosts are the same objects under the same document-wide fields has the same text, and keeps its
    // memo as it is.
    const head = stringify(withoutVhosts(routing));
    const unchanged = new Set<string>();
    const shardText = (doc: RoutingJson, shard: string) => {
      const last = lastShards?.get(shard);
      if (last?.head !== head || !sameVhosts(last, doc.vhosts)) return stringify(doc);
      unchanged.add(shard);
      return last.text;
    };
    const sharded = shardRouting(routing, {
      bytes: routingBytes(routing, memo.routeText, totals),
      prefix: routingShardPrefix(name),
      // the table's vhosts: grouped again only where a change rebuilt them
      ...(routes === attached
        ? { groups: (count: number) => groups = new Map(table.shardGroups(count, shardOfHost)) }
        : {}),
      stringify: shardText,
      hash: (shard, text, doc) => {
        const last = lastShards?.get(shard);
        if (last && unchanged.has(shard)) {
          shards.set(shard, last);
          return last.hash;
        }
        const kept = last?.text === text ? last : { text, hash: contentHash(text) };
        const [hosts, vhosts] = [Object.keys(doc.vhosts), Object.values(doc.vhosts)];
        shards.set(shard, { ...kept, head, hosts, vhosts, table: doc.vhosts });
        return kept.hash;
      },
    });
    // The whole text is assembled only when asked for: stored in shards, a large Gateway never needs it.
    let text: string | undefined;
    return {
      routing,
      sharded,
      ...(totals ? { regexCost: { patterns: totals.patterns, characters: totals.characters } } : {}),
      backendNamespaces: () => totals ? totals.namespaces() : backendNamespaces(routing),
      // an unchanged shard's stored size is measured once (its text may be megabytes in all)
      shardBytes: (shard: RoutingShard, budget: number, measure: () => number) => {
        const kept = shards.get(shard.name);
        if (kept?.text !== shard.text) return measure();
        if (kept.stored?.budget !== budget) kept.stored = { budget, bytes: measure() };
        return kept.stored.bytes;
      },
      get routingJson() {
        return text ??= stringify(routing);
      },
    };
  };
  // Past a budget the newest routes are refused (each told why) and the others keep serving.
  const fitted = fitRoutes(attached, render, [
    regexBudget(options.regexBudget ?? REGEX_BUDGET),
    byteBudget(options.routingBudgetBytes ?? ROUTING_BUDGET_BYTES, mainVcl),
  ]);
  const { routes, rendered } = fitted;
  const whole = routes === attached;
  const { routing, sharded } = rendered;
  memo.shardHashes.set(gateway.spec, shards);
  // A sharded routing.json is known by its manifest, which names the hash of every shard.
  const hashes = { routing: contentHash(sharded?.manifest ?? rendered.routingJson), vcl: contentHash(mainVcl) };
  const tlsBundles = buildTlsBundles(gateway, listeners, index);
  // 4. Build children: none while the configuration is invalid, so the running ones stay.
  const children = config.problem ? undefined : buildChildren({
    gateway,
    listeners,
    parameters: config.parameters,
    get routingJson() {
      return rendered.routingJson;
    },
    routingShards: sharded,
    shardData: (shard) => {
      const kept = shards.get(shard.name);
      return kept?.text === shard.text ? kept.data ??= routingJsonData(shard.text) : routingJsonData(shard.text);
    },
    mainVcl,
    hashes,
    backendNamespaces: rendered.backendNamespaces(),
    tlsBundles,
    podClusterRole: options.defaults.podClusterRole,
    keeperImage: options.defaults.image,
  });
  // 5. Compute status: from the pods and the Gateway object (its spec the same) alone, so that a change of only
  // those recomputes it from this translation (`restatusGateway`).
  const made = run.ingressListeners.get(key);
  const attachedRoutes = whole ? table.routeCounts() : attachedRouteCounts(routes);
  const service = index.services.get(keyOf(namespace, gatewayObjectName(name)));
  const clientCertificate = resolveBackendClientCertificate(gateway, index);
  const facts = { key, config, merged, made, attachedRoutes, service, hashes, tlsBundles, clientCertificate };
  const part = gatewayStatusPart(gateway, index.podsByGateway.get(key) ?? [], options.now, facts);
  const result: GatewayResult = {
    key,
    namespace,
    name,
    status: part.status,
    routing,
    // a getter: assembled on first use (tests, `lacquer render`); the operator stores the shards
    get routingJson() {
      return rendered.routingJson;
    },
    ...(sharded ? { routingShards: sharded } : {}),
    mainVcl,
    rejections: part.rejections,
    podTemplates: part.podTemplates,
    parameters: config.sources,
    ...(children ? { children } : {}),
  };
  if (made) memo.gatewayStatus.delete(key);
  else memo.gatewayStatus.set(key, { result, facts });
  return {
    result,
    routes: whole
      ? table.statuses((attached) => routeStatus(attached, key, listenerSetKeys, run))
      : routes.flatMap((attached) => routeStatus(attached, key, listenerSetKeys, run)),
    ...(part.ingressListeners ? { ingressListeners: part.ingressListeners } : {}),
    listenerSets: part.listenerSets,
    backendTlsPolicies: run.backendTlsPolicies.length === 0 ? [] : backendTlsAncestors(key, {
      routes: routes.map((r) => r.route),
      policies: run.backendTlsPolicies,
      index,
      now: options.now,
    }),
  };
}

/**
 * The status of the ListenerSets whose parentRef names a Gateway that does not exist (in a namespace we watch): no
 * controller would tell their owners otherwise.
 */
function orphanListenerSets(key: string, run: Run): ListenerSetStatusResult[] {
  const watched = run.index.watched;
  if (watched && !watched.includes(key.slice(0, key.indexOf("/")))) return [];
  return (run.index.listenerSetsByGateway.get(key) ?? []).map((listenerSet) => {
    const result: ListenerSetResult = {
      key: keyOf(listenerSet.metadata.namespace, listenerSet.metadata.name),
      listenerSet,
      listeners: [],
    };
    return listenerSetStatus({ result, attachedRoutes: new Map() }, run.options.now);
  });
}

/**
 * Removals of our route status entries for ListenerSets that no longer exist (nothing else reports on them): only the
 * routes that name a ListenerSet are read (`SnapshotIndex.listenerSetRoutes`).
 */
function goneListenerSetEntries(run: Run): RouteStatusResult[] {
  const out = new Map<string, RouteStatusResult>();
  for (const route of run.index.listenerSetRoutes) {
    const ns = route.metadata.namespace ?? "";
    for (const { parentRef, controllerName } of route.status?.parents ?? []) {
      if (controllerName !== CONTROLLER_NAME || parentRef.kind !== "ListenerSet") continue;
      const set = keyOf(parentRef.namespace ?? ns, parentRef.name);
      if (run.index.listenerSets.has(set)) continue;
      const key = keyOf(ns, route.metadata.name);
      out.set(`${key} ${set}`, { key, gateway: set, kind: "ListenerSet", parents: [] });
    }
  }
  return [...out.values()];
}

/** The Gateway keys to look at: those asked for, or every Gateway of ours and every Gateway a route names. */
function gatewayKeys(snapshot: Snapshot, run: Run, ours: (cls: GatewayClass | undefined) => boolean): string[] {
  if (run.options.gateways) return [...new Set(run.options.gateways)].sort();
  const own = snapshot.gateways.filter((g) => ours(run.index.classes.get(g.spec.gatewayClassName)))
    .map((g) => keyOf(g.metadata.namespace, g.metadata.name));
  return [...new Set([...own, ...run.index.routesByGateway.keys(), ...run.index.listenerSetsByGateway.keys()])].sort();
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
 * @param options Clock, defaults, which Gateways to translate, and the memo.
 * @returns The outputs and statuses.
 */
export function translate(read: Snapshot, options: TranslateOptions): TranslateResult {
  const memo = options.memo ?? new TranslationMemo();
  // Ingresses are translated as the routes, listeners and policy targets they stand for.
  const expanded = expandIngresses(read, memo.ingressGateways);
  const snapshot = expanded.snapshot;
  const walkKey = options.gateways?.join(",") ?? "*";
  let walk = memo.routeWalks.get(walkKey);
  if (walk === undefined) memo.routeWalks.set(walkKey, walk = new AlignedWalk());
  const run: Run = {
    index: indexSnapshot(snapshot, CONTROLLER_NAME, walk),
    options,
    memo,
    policies: resolvePolicies(snapshot.cachePolicies, memo.policies),
    ingressListeners: expanded.listeners,
    backendTlsPolicies: snapshot.backendTlsPolicies,
    cachePolicies: snapshot.cachePolicies,
  };
  const filter = options.gatewayClassNames;
  const ourController = (cls: GatewayClass | undefined) => cls?.spec.controllerName === CONTROLLER_NAME;
  const ours = (cls: GatewayClass | undefined) =>
    ourController(cls) && (filter === undefined || filter.includes(cls!.metadata.name));
  const gatewayClasses = snapshot.gatewayClasses.filter(ours)
    .map((cls) =>
      gatewayClassStatus(cls, {
        parametersProblem: classParameters(cls, run.index).problem,
        crdBundleVersion: options.crdBundleVersion,
      }, options.now)
    )
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const byKey = new Map(snapshot.gateways.map((g) => [keyOf(g.metadata.namespace, g.metadata.name), g]));
  const gateways: GatewayResult[] = [];
  let routes: RouteStatusResult[] = [];
  const listenerSets: ListenerSetStatusResult[] = [];
  const ingressListeners = new Map<string, Map<string, ListenerStatus>>();
  const backendTlsPolicies: BackendTlsAncestorUpdate[] = [];
  for (const key of gatewayKeys(snapshot, run, ours)) {
    const gateway = byKey.get(key);
    const cls = gateway ? run.index.classes.get(gateway.spec.gatewayClassName) : undefined;
    // Another instance of our controller handles this class: neither translate nor clean up.
    if (gateway && ourController(cls) && !ours(cls)) continue;
    if (!gateway || !cls || !ours(cls)) {
      memo.routeTables.delete(key);
      memo.routeWalks.delete(key);
      memo.gatewayStatus.delete(key);
      // Not (or no longer) ours: our status entries on routes that name it must go.
      for (const route of run.index.routesByGateway.get(key) ?? []) {
        routes.push({ key: keyOf(route.metadata.namespace, route.metadata.name), gateway: key, parents: [] });
      }
      if (!gateway) listenerSets.push(...orphanListenerSets(key, run));
      const gone = { routes: [], policies: run.backendTlsPolicies, index: run.index, now: options.now };
      backendTlsPolicies.push(...backendTlsAncestors(key, gone));
      continue;
    }
    const {
      result,
      routes: routeStatuses,
      ingressListeners: made,
      listenerSets: sets,
      backendTlsPolicies: policyEntries,
    } = translateGateway(gateway, cls, run);
    backendTlsPolicies.push(...policyEntries);
    if (made) ingressListeners.set(key, new Map(made.map((l) => [l.name, l])));
    gateways.push(result);
    // the first Gateway's entries as they are (a new array); a loop, not a spread: a Gateway's entries may be more
    // than a call takes arguments
    if (routes.length === 0) routes = routeStatuses;
    else for (const entry of routeStatuses) routes.push(entry);
    listenerSets.push(...sets);
  }
  routes.push(...goneListenerSetEntries(run));
  // the status entries of the routes Ingresses stand for are told on the Ingresses (none without Ingresses: tens of
  // thousands of entries are not searched for them)
  const ingressRoute = (r: RouteStatusResult) => r.key.includes(`/${INGRESS_ROUTE_PREFIX}`);
  const some = expanded.ingresses.length > 0;
  const facts = {
    addresses: new Map(gateways.map((g) => [g.key, g.status.addresses])),
    routes: some ? routes.filter(ingressRoute) : [],
    listeners: ingressListeners,
  };
  return {
    gatewayClasses,
    gateways,
    routes: some ? routes.filter((r) => !ingressRoute(r)) : routes,
    ingresses: expanded.ingresses.map((outcome) => ingressResult(outcome, facts)),
    listenerSets: listenerSets.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
    backendTlsPolicies,
  };
}
