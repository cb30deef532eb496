/**
 * Access log lines from varnishd's shared-memory log: the `varnishncsa` format that reads each client request, and
 * the JSON line written for it. Pure.
 *
 * varnishncsa (`-j`) prints every field as a JSON string; {@linkcode accessRecord} turns them into typed fields and
 * reads ghost's `VCL_Log` line (`ghost: <status> <namespace/name> rule <N> <listener> <backend> <endpoint>` when
 * forwarded, `ghost: <status> <route or -> <listener> <reason>` otherwise, see `ghost/README.md`) for the listener,
 * route, rule, backend and endpoint. The query string is left out: it often carries tokens.
 *
 * @module
 */
import { GHOST_SOCKET_NAME } from "../internal/names.ts";

/** The varnishncsa `-F` format (with `-j`): one JSON object of strings per client request. */
export const ACCESS_LOG_FORMAT = JSON.stringify({
  t: "%{msec}t",
  client: "%h",
  // The Host as received (first header record, either spelling), else the last one.
  host1: "%{VSL:ReqHeader:Host[2]}x",
  host2: "%{VSL:ReqHeader:host[2]}x",
  host3: "%{Host}i",
  method: "%m",
  path: "%U",
  status: "%s",
  bytes: "%b",
  us: "%D",
  ghost: "%{VCL_Log:ghost}x",
  cache: "%{Varnish:handling}x",
});

/** The varnishncsa VSL query: client requests on traffic sockets (not ghost's control socket). */
export const ACCESS_LOG_QUERY = `ReqStart[3] ne "${GHOST_SOCKET_NAME}"`;

/** One request of the access log. */
export interface AccessRecord {
  /** When the request arrived (ISO 8601, UTC). */
  time: string;
  /** Always `access`, so that the lines are easy to tell from the chaperone's own logs. */
  msg: "access";
  /** The client address (the real client behind hitch's PROXY header on HTTPS listeners). */
  client: string;
  /** The Host header as received. */
  host: string;
  /** The request method. */
  method: string;
  /** The path as received, without the query string. */
  path: string;
  /** The status sent to the client. */
  status: number;
  /** Body bytes sent. */
  bytes: number;
  /** Time to serve the request, in milliseconds. */
  durationMs: number;
  /** `hit`, `miss`, `pass`, `pipe` or `synth` (ghost's own answers). */
  cache: string;
  /** The listener, when ghost found one. */
  listener?: string;
  /** The route (`namespace/name`), when one matched. */
  route?: string;
  /** The rule index in the route. */
  rule?: number;
  /** The backend (`namespace/service:port`), when forwarded. */
  backend?: string;
  /** The endpoint (`address:port`), when forwarded. */
  endpoint?: string;
}

/** ghost's decision fields from its `VCL_Log` line (without the `ghost:` key). */
function ghostFields(line: string): Partial<AccessRecord> {
  const words = line.trim().split(/\s+/);
  // ghost writes "-" for a listener in a document without listeners.
  const listener = (word: string) => word === "-" ? {} : { listener: word };
  if (words.length < 3) return {};
  if (words[1] === "-") return listener(words[2]);
  if (words[2] !== "rule" || words.length < 5) return {};
  const decision: Partial<AccessRecord> = { route: words[1], rule: Number(words[3]), ...listener(words[4]) };
  if (words[0] === "200" && words.length >= 7) Object.assign(decision, { backend: words[5], endpoint: words[6] });
  return decision;
}

function count(text: string | undefined): number {
  const n = Number(text);
  return Number.isFinite(n) ? n : 0;
}

/**
 * Turns one varnishncsa line in {@linkcode ACCESS_LOG_FORMAT} into an access record.
 *
 * @example Usage
 * ```ts
 * import { accessRecord } from "./access_log.ts";
 * const record = accessRecord(
 *   '{"t":"1796035918171","client":"192.0.2.1","host1":"shop.example.com","method":"GET","path":"/","status":"200",' +
 *     '"bytes":"5","us":"1250","ghost":"200 shop/web rule 0 http shop/web:80 10.0.0.1:8080","cache":"pass"}',
 * );
 * // record?.route === "shop/web"
 * ```
 *
 * @param line The line.
 * @returns The record, or undefined when the line is not one (varnishncsa's own messages).
 */
export function accessRecord(line: string): AccessRecord | undefined {
  let raw: Record<string, string | null>;
  try {
    raw = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof raw !== "object" || raw === null || typeof raw.t !== "string") return undefined;
  const text = (key: string) => raw[key] ?? "";
  return {
    time: new Date(count(raw.t)).toISOString(),
    msg: "access",
    client: text("client"),
    host: text("host1") || text("host2") || text("host3"),
    method: text("method"),
    path: text("path"),
    status: count(raw.status ?? undefined),
    bytes: count(raw.bytes ?? undefined),
    durationMs: count(raw.us ?? undefined) / 1000,
    cache: text("cache"),
    ...ghostFields(text("ghost")),
  };
}
