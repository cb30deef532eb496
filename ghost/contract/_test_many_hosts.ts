/**
 * A test fixture: a routing.json with many hostnames of one route each, for the tests of routing data in shards.
 *
 * @module
 */
import { parseRoutingJson } from "./parse_contract.ts";
import type { RoutingJson } from "./routing_json.ts";

/**
 * A routing.json with `hosts` hostnames `h<i>.example` of one route each, with a listener.
 *
 * @param hosts How many hostnames.
 * @param service The name of the Service the route of host `i` sends to.
 * @returns The parsed document.
 */
export function manyHostsRouting(hosts: number, service: (i: number) => string): RoutingJson {
  const vhosts: Record<string, unknown> = {};
  for (let i = 0; i < hosts; i++) {
    vhosts[`h${i}.example`] = {
      routes: [{
        id: { namespace: "ns", name: `r${i}`, rule: 0 },
        created: "2026-01-01T00:00:00Z",
        listeners: ["http"],
        backends: [{ weight: 1, service: { namespace: "ns", name: service(i), port: 80 } }],
      }],
    };
  }
  return parseRoutingJson(JSON.stringify({
    version: 1,
    listeners: [{ name: "http", socket: "port-80", port: 80, protocol: "HTTP" }],
    vhosts,
  }));
}
