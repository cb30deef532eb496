/**
 * The `[host]:port` addresses servers listen on (admin, metrics, health), as a zod schema for option parsing.
 *
 * @module
 */
import { z } from "zod";

/** A listen address: an empty host means every IPv4 address, IPv6 hosts may be bracketed. */
export interface ListenAddress {
  hostname: string;
  port: number;
}

/**
 * Parses `[host]:port` (`:8080`, `127.0.0.1:8080`, `[::1]:8080`) into a hostname and port.
 *
 * @example Usage
 * ```ts
 * import { listenAddressSchema } from "./listen_address.ts";
 * listenAddressSchema.parse(":8080"); // { hostname: "0.0.0.0", port: 8080 }
 * ```
 */
export const listenAddressSchema: z.ZodType<ListenAddress, string> = z.string().transform((value, ctx) => {
  const match = /^(.*):(\d+)$/.exec(value);
  if (!match || Number(match[2]) > 65535) {
    ctx.addIssue({ code: "custom", message: `address "${value}" must look like [host]:port` });
    return z.NEVER;
  }
  return { hostname: match[1] === "" ? "0.0.0.0" : match[1].replace(/^\[(.*)\]$/, "$1"), port: Number(match[2]) };
});
