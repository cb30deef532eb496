import { deepEqual, equal } from "node:assert/strict";
import { parse } from "yaml";
import { parseGhostJson } from "../ghost/contract/mod.ts";
import { comparePrecedence, decodeComponent, type MatchOutcome, matchRequest, normalizeHost } from "./route_match.ts";

const GHOST_CASES = new URL("../ghost/core/testdata/route/", import.meta.url);

interface GhostCase {
  request: {
    host: string;
    path: string;
    method?: string;
    headers?: Record<string, string>;
    socket?: string;
    random?: number;
  };
  expect: Record<string, unknown>;
}

/** The outcome in the shape of ghost's golden `expect` (ghost/core/tests/route_goldens.rs). */
function asGhostExpects(outcome: MatchOutcome): Record<string, unknown> {
  const winner = outcome.candidates[0];
  const d = outcome.decision;
  const out: Record<string, unknown> = { status: d.status };
  if (winner) out.route = `${winner.route.id.namespace}/${winner.route.id.name} rule ${winner.route.id.rule}`;
  if (outcome.listener !== undefined) out.listener = outcome.listener;
  if (d.kind === "forward") {
    out.backend = d.backend.name;
    out.endpoint = d.endpoint;
    if (d.url !== undefined) out.url = d.url;
    if (d.host !== undefined) out.host = d.host;
  }
  if (d.kind === "redirect") out.location = d.location;
  if (d.kind === "refuse") out.reason = d.reason;
  return out;
}

Deno.test("matchRequest() decides every golden route case of ghost as ghost does, in any route order", async (t) => {
  const names = [...Deno.readDirSync(GHOST_CASES)].map((e) => e.name).filter((n) => n.endsWith(".ghost.json"))
    .map((n) => n.slice(0, -".ghost.json".length)).sort();
  equal(names.length > 10, true, "the ghost cases are there");
  for (const name of names) {
    await t.step(name, async () => {
      const doc = parseGhostJson(await Deno.readTextFile(new URL(`${name}.ghost.json`, GHOST_CASES)));
      const reversed = structuredClone(doc);
      for (const vhost of Object.values(reversed.vhosts)) vhost.routes.reverse();
      const cases: GhostCase[] = parse(await Deno.readTextFile(new URL(`${name}.requests.yaml`, GHOST_CASES)));
      for (const [i, { request, expect }] of cases.entries()) {
        const req = {
          socket: request.socket ?? "http",
          host: request.host,
          url: request.path,
          method: request.method ?? "GET",
          headers: Object.entries(request.headers ?? {}).map(([name, value]) => ({ name, value })),
          random: BigInt(request.random ?? 0),
        };
        deepEqual(asGhostExpects(matchRequest(doc, req)), expect, `${name}[${i}] ${request.host} ${request.path}`);
        deepEqual(asGhostExpects(matchRequest(reversed, req)), expect, `${name}[${i}] reversed`);
      }
    });
  }
});

Deno.test("matchRequest() lists every candidate whose conditions hold, best first, and what ghost skips", () => {
  const doc = parseGhostJson(JSON.stringify({
    version: 1,
    vhosts: {
      "a.example.com": {
        routes: [
          {
            id: { namespace: "ns", name: "prefix", rule: 0 },
            created: "2026-01-01T00:00:00Z",
            listeners: ["x"],
            matches: [{ path: { type: "PathPrefix", value: "/a" } }],
          },
          {
            id: { namespace: "ns", name: "bad", rule: 0 },
            created: "2026-01-01T00:00:00Z",
            listeners: ["x"],
            matches: [{ path: { type: "RegularExpression", value: "(" } }],
          },
        ],
      },
      "*": {
        routes: [
          {
            id: { namespace: "ns", name: "exact", rule: 0 },
            created: "2026-01-01T00:00:00Z",
            listeners: ["x"],
            matches: [{ path: { type: "Exact", value: "/a/b" } }],
          },
          {
            id: { namespace: "ns", name: "other-path", rule: 0 },
            created: "2026-01-01T00:00:00Z",
            listeners: ["x"],
            matches: [{ path: { type: "Exact", value: "/c" } }],
          },
        ],
      },
    },
  }));
  const outcome = matchRequest(doc, {
    socket: "s",
    host: "A.example.com:8080",
    url: "/a/b",
    method: "GET",
    headers: [],
  });
  deepEqual(outcome.candidates.map((c) => c.route.id.name), ["prefix", "exact"]);
  equal(comparePrecedence(outcome.candidates[0].key, outcome.candidates[1].key).criterion, "host");
  equal(outcome.skipped.length, 1);
  equal(outcome.skipped[0].startsWith("ns/bad rule 0: matches[0].path: invalid regular expression"), true);
});

Deno.test("matchRequest() answers a CORS preflight of a rule with the CORS filter itself, as ghost does", () => {
  const doc = parseGhostJson(JSON.stringify({
    version: 1,
    vhosts: {
      "*": {
        routes: [{
          id: { namespace: "ns", name: "cors", rule: 0 },
          created: "2026-01-01T00:00:00Z",
          listeners: ["x"],
          filters: [{ type: "CORS", cors: { allowOrigins: ["https://a.example"] } }],
          backends: [{ name: "ns/app:80", endpoints: [{ address: "10.0.0.1", port: 80 }] }],
        }],
      },
    },
  }));
  const request = (method: string, headers: { name: string; value: string }[]) =>
    matchRequest(doc, { socket: "s", host: "h", url: "/", method, headers }).decision;
  const origin = { name: "Origin", value: "https://a.example" };
  const asked = { name: "Access-Control-Request-Method", value: "PUT" };
  deepEqual(request("OPTIONS", [origin, asked]), { kind: "preflight", status: 204, origin: "https://a.example" });
  equal(request("OPTIONS", [origin]).kind, "forward", "no Access-Control-Request-Method: not a preflight");
  equal(request("GET", [origin, asked]).kind, "forward");
});

Deno.test("normalizeHost() and decodeComponent() read hosts and query values as ghost does", () => {
  equal(normalizeHost("API.Example.com:8080"), "api.example.com");
  equal(normalizeHost("example.com."), "example.com");
  equal(normalizeHost("[::1]:80"), "[::1]");
  equal(decodeComponent("x%20y+z"), "x y z");
  equal(decodeComponent("%zz%"), "%zz%");
});
