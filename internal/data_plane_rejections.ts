/**
 * What a gateway pod could not apply of what the operator wrote, as the chaperone publishes it in the Pod annotation
 * {@linkcode REJECTIONS_ANNOTATION} and the operator reads it back for the Gateway's `Programmed` condition and its
 * Events. The chaperone writes it with {@linkcode encodeRejections}, the operator reads it with
 * {@linkcode parseRejections}; both sides share this one definition.
 *
 * The annotation is bounded (a few entries, a few lines each, 4 KiB in all) and holds no secret material: messages
 * are varnishd's, ghost's or the certificate check's own words, with anything that looks like PEM or key material
 * cut out.
 *
 * @module
 */
import { z } from "zod";

/** Pod annotation with the JSON list of the pod's current rejections; absent when it has none. */
export const REJECTIONS_ANNOTATION = "lacquer.dev/rejected-config";

/** The kinds of rejection, as machine-readable reasons. */
export const RejectionKind = {
  /** main.vcl did not compile; the previous VCL keeps serving. */
  VclRejected: "VCLRejected",
  /** main.vcl compiled but its `vcl_init` failed; the previous VCL keeps serving. */
  VclInitFailed: "VCLInitFailed",
  /** routing.json does not follow the contract; the previous one keeps serving. */
  RoutingRejected: "RoutingRejected",
  /** ghost refused the whole ghost.json; the previous one keeps serving. */
  GhostRefused: "GhostRefused",
  /** ghost loaded ghost.json but left routes out (not served) or their cache settings (served without caching). */
  RoutesSkipped: "RoutesSkipped",
  /** A TLS certificate bundle hitch cannot use is left out (its listener's hostnames get the default certificate). */
  TlsBundleUnusable: "TLSBundleUnusable",
} as const;

/** One kind of rejection. */
export type RejectionKindName = typeof RejectionKind[keyof typeof RejectionKind];

/** One thing a pod could not apply. */
export interface DataPlaneRejection {
  /** What was rejected. */
  kind: RejectionKindName;
  /**
   * The `sha256:<hex>` of what was rejected: main.vcl for the VCL kinds, routing.json for the routing kinds, the
   * bundle's PEM for `TLSBundleUnusable`; the operator compares it with what it wrote last.
   */
  hash: string;
  /** The first lines of varnishd's, ghost's or the check's message. */
  message: string;
}

const MAX_ENTRIES = 6;
const MAX_LINES = 12;
const MAX_MESSAGE_BYTES = 1200;
const MAX_TOTAL_BYTES = 4096;

const rejectionsSchema = z.array(z.object({
  kind: z.enum(Object.values(RejectionKind) as [RejectionKindName, ...RejectionKindName[]]),
  hash: z.string().max(100),
  message: z.string().max(MAX_MESSAGE_BYTES * 2),
}));

const encoder = new TextEncoder();

function bytes(text: string): number {
  return encoder.encode(text).length;
}

/**
 * Removes what could be secret from a message: PEM blocks and lines that name or hold private key material.
 *
 * @example Usage
 * ```ts
 * import { redactSecrets } from "./data_plane_rejections.ts";
 * redactSecrets("bad bundle\n-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"); // "bad bundle\n[redacted]"
 * ```
 *
 * @param text A message.
 * @returns The message without secret material.
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/-----BEGIN [^-]*-----[\s\S]*?(?:-----END [^-]*-----|$)/g, "[redacted]")
    .split("\n")
    // A long unbroken base64 run is key or certificate material out of its PEM frame.
    .map((line) => /[A-Za-z0-9+/=]{64,}/.test(line) ? "[redacted]" : line)
    .join("\n");
}

/**
 * Keeps the first lines of a message, within a byte budget, without empty lines or trailing blanks.
 *
 * @example Usage
 * ```ts
 * import { firstLines } from "./data_plane_rejections.ts";
 * firstLines("a\n\n b \nc\nd", { lines: 2 }); // "a\n b\n…"
 * ```
 *
 * @param text The message.
 * @param limits At most this many lines and bytes (UTF-8). @default {{ lines: 12, bytes: 1200 }}
 * @returns The kept lines; "…" on a last line of its own says some were cut.
 */
export function firstLines(text: string, limits: { lines?: number; bytes?: number } = {}): string {
  const maxLines = limits.lines ?? MAX_LINES;
  const maxBytes = limits.bytes ?? MAX_MESSAGE_BYTES;
  const lines = text.split("\n").map((l) => l.trimEnd()).filter((l) => l.trim() !== "");
  const kept: string[] = [];
  let used = 0;
  for (const line of lines) {
    if (kept.length === maxLines || used + bytes(line) + 1 > maxBytes - 4) {
      kept.push("…");
      break;
    }
    kept.push(line);
    used += bytes(line) + 1;
  }
  return kept.join("\n");
}

/**
 * Encodes a pod's rejections for {@linkcode REJECTIONS_ANNOTATION}: secrets removed, each message cut to its first
 * lines, at most a few entries and 4 KiB in all (later entries are dropped first).
 *
 * @example Usage
 * ```ts
 * import { encodeRejections } from "./data_plane_rejections.ts";
 * encodeRejections([{ kind: "VCLRejected", hash: "sha256:ab", message: "Expected ';'" }]);
 * // '[{"kind":"VCLRejected","hash":"sha256:ab","message":"Expected \';\'"}]'
 * encodeRejections([]); // undefined: no annotation
 * ```
 *
 * @param rejections The rejections.
 * @returns The annotation value, or undefined when there is nothing to report.
 */
export function encodeRejections(rejections: readonly DataPlaneRejection[]): string | undefined {
  const entries = rejections.slice(0, MAX_ENTRIES).map((r) => ({
    kind: r.kind,
    hash: r.hash,
    message: firstLines(redactSecrets(r.message)),
  }));
  while (entries.length > 0 && bytes(JSON.stringify(entries)) > MAX_TOTAL_BYTES) entries.pop();
  return entries.length === 0 ? undefined : JSON.stringify(entries);
}

/**
 * Reads {@linkcode REJECTIONS_ANNOTATION}; a missing or malformed value reads as no rejection (it is advice for
 * status, never a reason to fail).
 *
 * @example Usage
 * ```ts
 * import { parseRejections } from "./data_plane_rejections.ts";
 * parseRejections('[{"kind":"GhostRefused","hash":"sha256:ab","message":"bad"}]')[0].kind; // "GhostRefused"
 * parseRejections("not json"); // []
 * ```
 *
 * @param value The annotation's value.
 * @returns The rejections.
 */
export function parseRejections(value: string | undefined): DataPlaneRejection[] {
  if (!value) return [];
  try {
    const parsed = rejectionsSchema.safeParse(JSON.parse(value));
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
}
