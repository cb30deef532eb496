/**
 * `lacquer status`, the pure part: the cluster's Gateways of Lacquer's classes, the routes and CachePolicies Lacquer
 * wrote status for, and the gateway pods, summarised from what the operator and the pods reported, with every
 * problem listed once; and the one-screen table of that summary.
 *
 * @module
 */
import {
  APPLIED_ROUTING_ANNOTATION,
  APPLIED_VCL_ANNOTATION,
  CONTROLLER_NAME,
  gatewayChildName,
  gatewayNameOf,
} from "../internal/names.ts";
import { ROUTING_HASH_ANNOTATION, VCL_HASH_ANNOTATION } from "../operator/children.ts";

/** An API object as listed (only the fields read here are typed). */
export interface ListedObject {
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

/** What {@linkcode summarizeStatus} reads. */
export interface StatusInput {
  gatewayClasses: ListedObject[];
  gateways: ListedObject[];
  httpRoutes: ListedObject[];
  cachePolicies: ListedObject[];
  /** Lacquer's gateway pods. */
  pods: ListedObject[];
  /** Lacquer's ConfigMaps (`<gateway>-lacquer` carries the hashes the pods should apply). */
  configMaps: ListedObject[];
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** One gateway pod. */
export interface PodSummary {
  name: string;
  ready: boolean;
  /** The routing.json hash it applied, shortened; "" before its first. */
  appliedRouting: string;
  appliedVcl: string;
  /** Whether it serves what the Gateway's ConfigMap holds now. */
  current: boolean;
}

/** The printed summary. */
export interface StatusSummary {
  gateways: {
    name: string;
    class: string;
    accepted: string;
    programmed: string;
    addresses: string[];
    listeners: { name: string; attachedRoutes: number }[];
    routingHash: string;
    pods: PodSummary[];
  }[];
  routes: {
    name: string;
    hostnames: string[];
    parents: { gateway: string; accepted: string; resolvedRefs: string }[];
  }[];
  policies: { name: string; targets: string[]; ancestors: { ancestor: string; accepted: string }[] }[];
  /** Every condition that is not as it should be, one line each, naming the object. */
  problems: string[];
}

const SHORT_HASH = 12;

function conditions(value: unknown): Condition[] {
  return Array.isArray(value) ? value as Condition[] : [];
}

function conditionText(list: Condition[], type: string): string {
  const c = list.find((x) => x.type === type);
  if (!c) return "Unknown";
  return c.status === "True" ? "True" : `${c.status} (${c.reason ?? "no reason"})`;
}

function problemsOf(what: string, list: Condition[], good: Record<string, string>): string[] {
  return list.filter((c) => good[c.type] !== undefined && c.status !== good[c.type]).map((c) =>
    `${what}: ${c.type}=${c.status} (${c.reason ?? "no reason"})${c.message ? `: ${c.message}` : ""}`
  );
}

function key(o: ListedObject): string {
  return `${o.metadata.namespace ?? ""}/${o.metadata.name}`;
}

function short(hash: string | undefined): string {
  return (hash ?? "").slice(0, SHORT_HASH);
}

function summarizePods(input: StatusInput, gateway: ListedObject): { routingHash: string; pods: PodSummary[] } {
  const namespace = gateway.metadata.namespace;
  const configMap = input.configMaps.find((c) =>
    c.metadata.namespace === namespace && c.metadata.name === gatewayChildName(gateway.metadata.name)
  );
  const want = configMap?.metadata.annotations ?? {};
  const pods = input.pods.filter((p) =>
    p.metadata.namespace === namespace && gatewayNameOf(p.metadata) === gateway.metadata.name
  ).map((p) => {
    const applied = p.metadata.annotations ?? {};
    const ready = conditions(p.status?.conditions).some((c) => c.type === "Ready" && c.status === "True");
    return {
      name: p.metadata.name,
      ready,
      appliedRouting: short(applied[APPLIED_ROUTING_ANNOTATION]),
      appliedVcl: short(applied[APPLIED_VCL_ANNOTATION]),
      current: applied[APPLIED_ROUTING_ANNOTATION] === want[ROUTING_HASH_ANNOTATION] &&
        applied[APPLIED_VCL_ANNOTATION] === want[VCL_HASH_ANNOTATION],
    };
  }).sort((a, b) => (a.name < b.name ? -1 : 1));
  return { routingHash: short(want[ROUTING_HASH_ANNOTATION]), pods };
}

/**
 * Summarises the objects Lacquer serves and reports on.
 *
 * @example Usage
 * ```ts
 * import { summarizeStatus } from "./status.ts";
 * const summary = summarizeStatus({
 *   gatewayClasses: [], gateways: [], httpRoutes: [], cachePolicies: [], pods: [], configMaps: [],
 * });
 * // summary.problems.length === 0
 * ```
 *
 * @param input The listed objects.
 * @param namespace Only this namespace's Gateways, routes and policies.
 * @returns The summary.
 */
export function summarizeStatus(input: StatusInput, namespace?: string): StatusSummary {
  const ours = new Set(
    input.gatewayClasses.filter((c) => c.spec?.controllerName === CONTROLLER_NAME).map((c) => c.metadata.name),
  );
  const inScope = (o: ListedObject) => namespace === undefined || o.metadata.namespace === namespace;
  const problems: string[] = [];
  const gateways = input.gateways.filter((g) => ours.has(String(g.spec?.gatewayClassName)) && inScope(g)).map((g) => {
    const list = conditions(g.status?.conditions);
    problems.push(...problemsOf(`Gateway ${key(g)}`, list, { Accepted: "True", Programmed: "True" }));
    const listeners = (Array.isArray(g.status?.listeners) ? g.status.listeners : []) as {
      name: string;
      attachedRoutes?: number;
      conditions?: Condition[];
    }[];
    for (const l of listeners) {
      problems.push(
        ...problemsOf(`Gateway ${key(g)} listener ${l.name}`, conditions(l.conditions), {
          Accepted: "True",
          ResolvedRefs: "True",
          Programmed: "True",
          Conflicted: "False",
        }),
      );
    }
    const { routingHash, pods } = summarizePods(input, g);
    for (const p of pods) {
      if (!p.ready) problems.push(`Pod ${g.metadata.namespace}/${p.name} of Gateway ${key(g)}: not Ready`);
      else if (!p.current) {
        problems.push(
          `Pod ${g.metadata.namespace}/${p.name} of Gateway ${key(g)}: does not serve the current configuration`,
        );
      }
    }
    return {
      name: key(g),
      class: String(g.spec?.gatewayClassName),
      accepted: conditionText(list, "Accepted"),
      programmed: conditionText(list, "Programmed"),
      addresses: ((g.status?.addresses ?? []) as { value: string }[]).map((a) => a.value),
      listeners: listeners.map((l) => ({ name: l.name, attachedRoutes: l.attachedRoutes ?? 0 })),
      routingHash,
      pods,
    };
  });
  const routes = input.httpRoutes.filter(inScope).flatMap((r) => {
    const parents = ((r.status?.parents ?? []) as {
      parentRef: { name: string; namespace?: string; sectionName?: string };
      controllerName: string;
      conditions?: Condition[];
    }[]).filter((p) => p.controllerName === CONTROLLER_NAME);
    if (parents.length === 0) return [];
    return [{
      name: key(r),
      hostnames: (r.spec?.hostnames ?? []) as string[],
      parents: parents.map((p) => {
        const gateway = `${p.parentRef.namespace ?? r.metadata.namespace}/${p.parentRef.name}${
          p.parentRef.sectionName ? `/${p.parentRef.sectionName}` : ""
        }`;
        const list = conditions(p.conditions);
        problems.push(
          ...problemsOf(`HTTPRoute ${key(r)} on ${gateway}`, list, { Accepted: "True", ResolvedRefs: "True" }),
        );
        return {
          gateway,
          accepted: conditionText(list, "Accepted"),
          resolvedRefs: conditionText(list, "ResolvedRefs"),
        };
      }),
    }];
  });
  const policies = input.cachePolicies.filter(inScope).map((p) => {
    const ancestors = ((p.status?.ancestors ?? []) as {
      ancestorRef: { name: string; namespace?: string; kind?: string; sectionName?: string };
      conditions?: Condition[];
    }[]).map((a) => {
      const ref = a.ancestorRef;
      const ancestor = `${ref.kind ?? "Gateway"} ${ref.namespace ?? p.metadata.namespace}/${ref.name}${
        ref.sectionName ? `/${ref.sectionName}` : ""
      }`;
      const list = conditions(a.conditions);
      problems.push(...problemsOf(`CachePolicy ${key(p)} on ${ancestor}`, list, { Accepted: "True" }));
      return { ancestor, accepted: conditionText(list, "Accepted") };
    });
    const targets = ((p.spec?.targetRefs ?? []) as { kind: string; name: string; sectionName?: string }[]).map((t) =>
      `${t.kind} ${t.name}${t.sectionName ? `/${t.sectionName}` : ""}`
    );
    return { name: key(p), targets, ancestors };
  });
  return { gateways, routes, policies, problems };
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd()).join("\n") + "\n";
}

/**
 * Formats a summary as the terminal's one screen: a table each of Gateways, routes, policies and pods, then the
 * problems.
 *
 * @param summary The summary.
 * @returns The text.
 */
export function formatStatusTable(summary: StatusSummary): string {
  const parts: string[] = [];
  parts.push(table([
    ["GATEWAY", "CLASS", "ACCEPTED", "PROGRAMMED", "ADDRESSES", "LISTENERS", "ROUTING", "PODS CURRENT/READY/ALL"],
    ...summary.gateways.map((g) => [
      g.name,
      g.class,
      g.accepted,
      g.programmed,
      g.addresses.join(",") || "-",
      g.listeners.map((l) => `${l.name}(${l.attachedRoutes})`).join(",") || "-",
      g.routingHash || "-",
      `${g.pods.filter((p) => p.ready && p.current).length}/${g.pods.filter((p) => p.ready).length}/${g.pods.length}`,
    ]),
  ]));
  parts.push(table([
    ["HTTPROUTE", "HOSTNAMES", "PARENT", "ACCEPTED", "REFS"],
    ...summary.routes.flatMap((r) =>
      r.parents.map((p, i) => [
        i === 0 ? r.name : "",
        i === 0 ? r.hostnames.join(",") || "*" : "",
        p.gateway,
        p.accepted,
        p.resolvedRefs,
      ])
    ),
  ]));
  parts.push(table([
    ["CACHEPOLICY", "TARGETS", "ANCESTOR", "ACCEPTED"],
    ...summary.policies.flatMap((p) =>
      (p.ancestors.length ? p.ancestors : [{ ancestor: "-", accepted: "Unknown" }]).map((a, i) => [
        i === 0 ? p.name : "",
        i === 0 ? p.targets.join(",") : "",
        a.ancestor,
        a.accepted,
      ])
    ),
  ]));
  parts.push(table([
    ["POD", "GATEWAY", "READY", "ROUTING", "VCL", "CURRENT"],
    ...summary.gateways.flatMap((g) =>
      g.pods.map((p) => [
        p.name,
        g.name,
        String(p.ready),
        p.appliedRouting || "-",
        p.appliedVcl || "-",
        String(p.current),
      ])
    ),
  ]));
  parts.push(
    summary.problems.length === 0
      ? "no problems\n"
      : `PROBLEMS (${summary.problems.length})\n${summary.problems.map((p) => `- ${p}`).join("\n")}\n`,
  );
  return parts.join("\n");
}
