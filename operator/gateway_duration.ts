/**
 * Gateway API durations (GEP-2257): one to four `<number><unit>` parts, units `h`, `m`, `s` and `ms`, as in
 * `1h30m` or `500ms`. Pure.
 *
 * @module
 */

const DURATION = /^(?:[0-9]{1,5}(?:h|ms|m|s)){1,4}$/;
const PART = /([0-9]{1,5})(h|ms|m|s)/g;
const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/**
 * Parses a Gateway API duration into milliseconds.
 *
 * @example Usage
 * ```ts
 * import { parseGatewayDuration } from "./gateway_duration.ts";
 * parseGatewayDuration("1m30s"); // 90000
 * parseGatewayDuration("0s"); // 0
 * parseGatewayDuration("1.5s"); // undefined
 * ```
 *
 * @param text The duration as written in the object.
 * @returns The milliseconds, or undefined when the text is not a Gateway API duration.
 */
export function parseGatewayDuration(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let ms = 0;
  for (const [, value, unit] of text.matchAll(PART)) ms += Number(value) * UNIT_MS[unit];
  return ms;
}
