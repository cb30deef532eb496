/**
 * Gateway API durations (`1h30m`, `10s`, `500ms`: GEP-2257) as whole seconds, the unit of routing.json's cache TTLs.
 *
 * @module
 */

const DURATION = /^([0-9]{1,5}(h|m|s|ms)){1,4}$/;
const PART = /([0-9]{1,5})(h|ms|m|s)/g;
const MS_PER_UNIT: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/**
 * Parses a Gateway API duration into whole seconds.
 *
 * @example Usage
 * ```ts
 * import { durationSeconds } from "./duration.ts";
 * durationSeconds("1m30s"); // 90
 * durationSeconds("1500ms"); // "must be whole seconds, not 1500ms"
 * ```
 *
 * @param text The duration.
 * @returns The seconds, or a text saying why the duration is not usable.
 */
export function durationSeconds(text: string): number | string {
  if (!DURATION.test(text)) return `must be a duration such as 1h30m or 10s, not "${text}"`;
  let ms = 0;
  for (const [, value, unit] of text.matchAll(PART)) ms += Number(value) * MS_PER_UNIT[unit];
  if (ms % 1000 !== 0) return `must be whole seconds, not ${text}`;
  return ms / 1000;
}
