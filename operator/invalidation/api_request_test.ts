import { deepEqual, equal } from "node:assert/strict";
import { parseApiRequest } from "./api_request.ts";

const url = (path: string) => new URL(`http://lacquer-invalidation${path}`);

Deno.test("PURGE: Host names the hostname (port dropped, lowercased), soft unless the header says hard", () => {
  deepEqual(parseApiRequest("PURGE", url("/a/b?x=1"), new Headers({ host: "Shop.Example.com:8080" }), ""), {
    ok: true,
    request: {
      hostname: "shop.example.com",
      gatewayRefs: [],
      invalidation: { hostname: "shop.example.com", soft: true, urls: ["/a/b?x=1"] },
    },
  });
  const hard = parseApiRequest(
    "PURGE",
    url("/a"),
    new Headers({ host: "h.example", "lacquer-purge-mode": "HARD", "lacquer-namespace": "team-a" }),
    "",
  );
  deepEqual(hard.ok && hard.request, {
    hostname: "h.example",
    namespace: "team-a",
    gatewayRefs: [],
    invalidation: { hostname: "h.example", soft: false, urls: ["/a"] },
  });
  const bad = parseApiRequest("PURGE", url("/a"), new Headers({ host: "h", "lacquer-purge-mode": "x" }), "");
  deepEqual(bad, { ok: false, status: 400, error: 'Lacquer-Purge-Mode: mode must be "soft" or "hard", not "x"' });
});

Deno.test("POST /invalidate: JSON with mode, namespace and gatewayRefs; targets go to the model untouched", () => {
  const body = JSON.stringify({
    hostname: "H.example",
    tags: ["a", "b"],
    mode: "hard",
    namespace: "n",
    gatewayRefs: [{ name: "gw", namespace: "infra" }],
  });
  deepEqual(parseApiRequest("POST", url("/invalidate"), new Headers(), body), {
    ok: true,
    request: {
      hostname: "h.example",
      namespace: "n",
      gatewayRefs: [{ name: "gw", namespace: "infra" }],
      invalidation: { tags: ["a", "b"], hostname: "h.example", soft: false },
    },
  });
});

Deno.test("parseApiRequest refuses what it cannot read, with the reason", () => {
  const cases: [string, string, string, number, string][] = [
    ["POST", "/invalidate", "{", 400, "body is not JSON"],
    ["POST", "/invalidate", "[1]", 400, "body must be a JSON object"],
    ["POST", "/invalidate", '{"all":true}', 400, "hostname (a string) is required"],
    ["POST", "/invalidate", '{"hostname":"h","all":true,"mode":"later"}', 400, 'mode must be "soft" or "hard"'],
    ["POST", "/invalidate", '{"hostname":"h","all":true,"namespace":""}', 400, "namespace must be"],
    ["POST", "/invalidate", '{"hostname":"h","all":true,"gatewayRefs":[{}]}', 400, "gatewayRefs must be"],
    ["POST", "/other", "{}", 400, "POST goes to /invalidate"],
    ["GET", "/", "", 405, "use PURGE"],
  ];
  for (const [method, path, body, status, message] of cases) {
    const result = parseApiRequest(method, url(path), new Headers(), body);
    equal(result.ok, false, `${method} ${path} ${body}`);
    if (!result.ok) {
      equal(result.status, status);
      equal(result.error.startsWith(message), true, result.error);
    }
  }
  const noHost = parseApiRequest("PURGE", url("/"), new Headers(), "");
  equal(!noHost.ok && noHost.error, "PURGE needs a Host header naming the hostname");
});
