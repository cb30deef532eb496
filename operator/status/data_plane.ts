/**
 * What the gateway pods could not apply of the current configuration, in words for the Gateway's `Programmed`
 * condition and its Events: the rejections each pod publishes (`internal/data_plane_rejections.ts`) that concern
 * what the operator wrote last, grouped over pods, with varnishd's line numbers mapped back to the user's VCL.
 *
 * @module
 */
import {
  type DataPlaneRejection,
  parseRejections,
  RejectionKind,
  type RejectionKindName,
  REJECTIONS_ANNOTATION,
} from "../../internal/data_plane_rejections.ts";
import type { UserVclLines } from "../../vcl/mod.ts";
import type { Pod } from "../api_types.ts";

/** What the current configuration is, to tell current rejections from stale ones. */
export interface DataPlaneContext {
  /** Hashes of the current routing.json and main.vcl. */
  hashes: { routing: string; vcl: string };
  /** Hashes of the TLS certificate bundles the Gateway's TLS Secret carries now. */
  tlsBundleHashes?: ReadonlySet<string>;
  /** Where the user's VCL sits in main.vcl, and where it comes from (`ConfigMap "ns/name" key "k"`). */
  userVcl?: UserVclLines & { source: string };
}

/** One rejection of the current configuration, with the pods that report it. */
export interface DataPlaneProblem {
  /** What was rejected. */
  kind: RejectionKindName;
  /** The hash of what was rejected. */
  hash: string;
  /** The pods that report it, sorted. */
  pods: string[];
  /** The message, VCL line numbers mapped to the user's. */
  message: string;
}

/** Rejections that leave the whole new configuration unapplied (the previous one keeps serving). */
const WHOLE = new Set<RejectionKindName>([
  RejectionKind.VclRejected,
  RejectionKind.VclInitFailed,
  RejectionKind.RoutingRejected,
  RejectionKind.GhostRefused,
]);

const LABELS: Record<RejectionKindName, string> = {
  VCLRejected: "main.vcl was rejected; pods that had a VCL keep serving it",
  VCLInitFailed: "main.vcl failed in vcl_init; pods that had a VCL keep serving it",
  RoutingRejected: "routing.json was rejected; pods keep serving their previous routes",
  GhostRefused: "the routing table was refused by ghost; pods keep serving their previous routes",
  RoutesSkipped: "ghost skipped routes (not served) or their cache settings (served without caching)",
  TLSBundleUnusable: "a TLS certificate bundle is unusable and was left out",
};

const MESSAGE_LINES = 8;
const PODS_NAMED = 3;

/**
 * Tells whether a rejection leaves the whole configuration unapplied (rather than a part of it left out).
 *
 * @param kind The rejection's kind.
 * @returns True for VCL, routing.json and ghost.json rejections.
 */
export function rejectsWholeConfiguration(kind: RejectionKindName): boolean {
  return WHOLE.has(kind);
}

/**
 * Rewrites varnishd's line references to main.vcl (`('<vcl.inline>' Line 70 Pos 12)`) into the user's own line
 * numbers where they point into the user's VCL, and into "generated VCL" lines elsewhere. The compiler's
 * `(program line N)` (a line of its own C source) is left out.
 *
 * @example Usage
 * ```ts
 * import { mapVclLines } from "./data_plane.ts";
 * mapVclLines("Expected ';'\n('<vcl.inline>' Line 70 Pos 12)", { first: 66, last: 80, userFirst: 1 });
 * // "Expected ';'\n(your VCL line 5, position 12)"
 * ```
 *
 * @param message varnishd's message.
 * @param lines Where the user's VCL sits in main.vcl; without it every line is a generated one.
 * @returns The message with mapped line references.
 */
export function mapVclLines(message: string, lines: UserVclLines | undefined): string {
  const where = (line: number) =>
    lines && line >= lines.first && line <= lines.last
      ? `your VCL line ${line - lines.first + lines.userFirst}`
      : `generated VCL line ${line}`;
  return message
    .replace(
      /\('[^'\n]*' Line (\d+) Pos (\d+)\)/g,
      (_, line: string, pos: string) => `(${where(+line)}, position ${pos})`,
    )
    // The compiler's own source line, not the VCL's: only a distraction here.
    .replace(/\(program line \d+\),? ?/g, "");
}

/**
 * Tells whether a rejection is about main.vcl (its hash is main.vcl's, its line numbers are main.vcl's).
 *
 * @param kind The rejection's kind.
 * @returns True for the VCL kinds.
 */
export function isVclRejection(kind: RejectionKindName): boolean {
  return kind === RejectionKind.VclRejected || kind === RejectionKind.VclInitFailed;
}

function isCurrent(rejection: DataPlaneRejection, context: DataPlaneContext): boolean {
  if (isVclRejection(rejection.kind)) return rejection.hash === context.hashes.vcl;
  if (rejection.kind === RejectionKind.TlsBundleUnusable) return context.tlsBundleHashes?.has(rejection.hash) ?? false;
  return rejection.hash === context.hashes.routing;
}

/**
 * Collects the rejections of the current configuration that the pods publish, one entry per distinct rejection
 * with every pod that reports it. Stale rejections (of a configuration since replaced) and deleted pods are left out.
 *
 * @param pods The Gateway's pods.
 * @param context The current configuration.
 * @returns The problems, whole-configuration rejections first.
 */
export function currentRejections(pods: readonly Pod[], context: DataPlaneContext): DataPlaneProblem[] {
  const byKey = new Map<string, DataPlaneProblem>();
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp) continue;
    for (const rejection of parseRejections(pod.metadata.annotations?.[REJECTIONS_ANNOTATION])) {
      if (!isCurrent(rejection, context)) continue;
      const key = `${rejection.kind}\n${rejection.hash}\n${rejection.message}`;
      let problem = byKey.get(key);
      if (!problem) {
        const message = isVclRejection(rejection.kind)
          ? mapVclLines(rejection.message, context.userVcl)
          : rejection.message;
        byKey.set(key, problem = { kind: rejection.kind, hash: rejection.hash, pods: [], message });
      }
      problem.pods.push(pod.metadata.name);
    }
  }
  const problems = [...byKey.values()];
  for (const p of problems) p.pods.sort();
  return problems.sort((a, b) => Number(WHOLE.has(b.kind)) - Number(WHOLE.has(a.kind)));
}

function podList(pods: readonly string[], total: number): string {
  const named = pods.slice(0, PODS_NAMED).join(", ");
  const more = pods.length > PODS_NAMED ? ` and ${pods.length - PODS_NAMED} more` : "";
  return `${pods.length} of ${total} gateway pods (${named}${more})`;
}

/**
 * Says what one problem is, for a condition message or an Event: what was rejected, by which pods, which
 * configuration (hash), and the first lines of the reason.
 *
 * @example Usage
 * ```ts
 * import { describeProblem } from "./data_plane.ts";
 * describeProblem({ kind: "GhostRefused", hash: "sha256:0123456789abcdef", pods: ["gw-1"], message: "bad" }, 2);
 * // "the routing table was refused by ghost; pods keep serving their previous routes: 1 of 2 gateway pods (gw-1),
 * //  configuration sha256:0123456789ab:\nbad"
 * ```
 *
 * @param problem The problem.
 * @param podCount How many gateway pods there are.
 * @param source Where the user's VCL comes from, named for VCL rejections.
 * @returns The text.
 */
export function describeProblem(problem: DataPlaneProblem, podCount: number, source?: string): string {
  const lines = problem.message.split("\n");
  const body = lines.slice(0, MESSAGE_LINES).join("\n") + (lines.length > MESSAGE_LINES ? "\n…" : "");
  const from = isVclRejection(problem.kind) && source ? ` (your VCL: ${source})` : "";
  const hash = problem.hash.slice(0, "sha256:".length + 12);
  return `${LABELS[problem.kind]}${from}: ${podList(problem.pods, podCount)}, configuration ${hash}:\n${body}`;
}
