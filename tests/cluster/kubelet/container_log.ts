/**
 * Container log lines as the process kubelet stores them (`<RFC 3339 time> <stream> <text>`, one per line, like
 * the CRI log format) and the filters of the kubelet log API (`sinceTime`, `sinceSeconds`, `tailLines`,
 * `limitBytes`, `timestamps`). Pure.
 *
 * @module
 */

/**
 * Formats one stored log line.
 *
 * @example Usage
 * ```ts
 * import { formatLogLine } from "./container_log.ts";
 * formatLogLine(new Date(0), { stream: "stdout", text: "hi" }); // "1970-01-01T00:00:00.000000000Z stdout hi\n"
 * ```
 *
 * @param time When the line was read.
 * @param line Stream and text (without newline).
 * @returns The stored line, with a newline.
 */
export function formatLogLine(time: Date, line: { stream: "stdout" | "stderr"; text: string }): string {
  const iso = time.toISOString().replace(/\.(\d{3})Z$/, ".$1000000Z");
  return `${iso} ${line.stream} ${line.text}\n`;
}

/** Filters of {@linkcode filterLog}. */
export interface LogFilter {
  /** Only lines at or after this time. */
  since?: Date;
  /** Only the last N lines. */
  tailLines?: number;
  /** Prefix each line with its time. */
  timestamps?: boolean;
  /** Cut the output after this many bytes. */
  limitBytes?: number;
}

/**
 * Turns stored log text into what `kubectl logs` shows.
 *
 * @example Usage
 * ```ts
 * import { filterLog } from "./container_log.ts";
 * filterLog("2026-01-01T00:00:00.000000000Z stdout a\n", {}); // "a\n"
 * ```
 *
 * @param stored The stored lines.
 * @param filter The filters.
 * @returns The output text.
 */
export function filterLog(stored: string, filter: LogFilter): string {
  let lines = stored.split("\n").filter((l) => l.length > 0).map((l) => {
    const sp1 = l.indexOf(" ");
    const sp2 = l.indexOf(" ", sp1 + 1);
    return { time: l.slice(0, sp1), text: sp2 > 0 ? l.slice(sp2 + 1) : "" };
  });
  if (filter.since) {
    const since = filter.since.getTime();
    lines = lines.filter((l) => Date.parse(l.time.replace(/(\.\d{3})\d*Z$/, "$1Z")) >= since);
  }
  if (filter.tailLines !== undefined && filter.tailLines >= 0) {
    lines = filter.tailLines === 0 ? [] : lines.slice(-filter.tailLines);
  }
  let out = lines.map((l) => (filter.timestamps ? `${l.time} ${l.text}` : l.text) + "\n").join("");
  if (filter.limitBytes !== undefined) {
    out = new TextDecoder().decode(new TextEncoder().encode(out).slice(0, filter.limitBytes));
  }
  return out;
}
