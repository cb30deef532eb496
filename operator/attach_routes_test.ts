import { deepEqual, equal, notEqual } from "node:assert/strict";
import { gatewaySchema, httpRouteSchema } from "./api_types.ts";
import { attachedRouteCounts, attachRoutes, type AttachRoutesContext } from "./attach_routes.ts";
import { validateListeners } from "./listeners.ts";
import { parseSnapshot } from "./snapshot.ts";
import { indexSnapshot } from "./snapshot_index.ts";
import { TranslationMemo } from "./translation_memo.ts";

const index = indexSnapshot(parseSnapshot([]), "lacquer.dev/gateway-controller");

function gateway(listeners: unknown[]) {
  return gatewaySchema.parse({
    metadata: { name: "gw", namespace: "ns" },
    spec: { gatewayClassName: "lacquer", listeners },
  });
}

function context(gw = gateway([{ name: "http", port: 80, protocol: "HTTP" }]), memo = new TranslationMemo()) {
  return { key: "ns/gw", gateway: gw, listeners: validateListeners(gw, index), index, memo } as AttachRoutesContext;
}

function route(name: string, created: string, spec: Record<string, unknown> = {}) {
  return httpRouteSchema.parse({
    metadata: { name, namespace: "ns", creationTimestamp: created },
    spec: { parentRefs: [{ name: "gw" }], rules: [{}], ...spec },
  });
}

Deno.test("attachRoutes() orders routes by age, then name, and records each parentRef's outcome", () => {
  const routes = [
    route("b", "2026-01-02T00:00:00Z"),
    route("c", "2026-01-01T00:00:00Z"),
    route("a", "2026-01-02T00:00:00Z", { parentRefs: [{ name: "gw" }, { name: "gw", sectionName: "none" }] }),
  ];
  const out = attachRoutes(routes, context());
  deepEqual(out.map((r) => r.key), ["ns/c", "ns/a", "ns/b"]);
  deepEqual(out[1].route.spec.parentRefs.map((p) => out[1].rejections.get(p)?.reason), [undefined, "NoMatchingParent"]);
  deepEqual(out[1].attachments, [{ listener: "http", hostnames: ["*"] }]);
});

Deno.test("attachRoutes() attaches a route whose every rule is invalid nowhere", () => {
  const bad = route("r", "2026-01-01T00:00:00Z", {
    rules: [{ matches: [{ path: { type: "RegularExpression", value: "(?<=x)" } }] }],
  });
  const [out] = attachRoutes([bad], context());
  equal(out.rules.allInvalid, true);
  equal(out.rejections.size, 0);
  deepEqual(out.attachments, []);
});

Deno.test("attachRoutes() reuses an attachment until the Gateway or its listeners change", () => {
  const memo = new TranslationMemo();
  const r = route("r", "2026-01-01T00:00:00Z");
  const gw = gateway([{ name: "http", port: 80, protocol: "HTTP" }]);
  const [first] = attachRoutes([r], context(gw, memo));
  equal(attachRoutes([r], context(gw, memo))[0], first);
  const moved = gateway([{ name: "http", port: 80, protocol: "HTTP", hostname: "a.example" }]);
  const [again] = attachRoutes([r], context(moved, memo));
  notEqual(again, first);
  deepEqual(again.attachments, [{ listener: "http", hostnames: ["a.example"] }]);
});

Deno.test("attachedRouteCounts() counts each route once per listener", () => {
  const gw = gateway([
    { name: "a", port: 80, protocol: "HTTP", hostname: "a.example" },
    { name: "b", port: 81, protocol: "HTTP" },
  ]);
  const routes = attachRoutes([
    route("one", "2026-01-01T00:00:00Z", { parentRefs: [{ name: "gw" }, { name: "gw", sectionName: "a" }] }),
    route("two", "2026-01-01T00:00:00Z", { hostnames: ["b.example"] }),
  ], context(gw));
  deepEqual([...attachedRouteCounts(routes)], [["a", 1], ["b", 2]]);
});
