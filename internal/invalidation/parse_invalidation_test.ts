import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import { invalidationKind, MAX_INVALIDATION_ENTRIES, parseInvalidation } from "./mod.ts";

const BASE = { namespace: "shop", hostname: "shop.example.com" };

Deno.test("parseInvalidation() accepts each kind and defaults to soft", async (t) => {
  const cases = [
    { input: { ...BASE, urls: ["/a", "/b/c.html", "/%7Euser/x;v=1", "/"] }, kind: "url" },
    { input: { ...BASE, prefixes: ["/catalog/"] }, kind: "prefix" },
    { input: { ...BASE, tags: ["product-1", "cat.shoes", "a.b_c~d|e'f"] }, kind: "tag" },
    { input: { ...BASE, all: true }, kind: "all" },
  ] as const;
  for (const { input, kind } of cases) {
    await t.step(kind, () => {
      const parsed = parseInvalidation(input);
      ok(parsed.ok, parsed.ok ? "" : parsed.error);
      deepStrictEqual(parsed.value, { ...input, soft: true });
      strictEqual(invalidationKind(parsed.value), kind);
    });
  }
});

Deno.test("parseInvalidation() keeps soft false and lowercases the hostname", () => {
  const parsed = parseInvalidation({ namespace: "a-1", hostname: "WWW.Example.COM", soft: false, tags: ["k"] });
  deepStrictEqual(parsed, {
    ok: true,
    value: { namespace: "a-1", hostname: "www.example.com", soft: false, tags: ["k"] },
  });
});

Deno.test("parseInvalidation() accepts prefixes 16 directories deep", () => {
  ok(parseInvalidation({ ...BASE, prefixes: [`${"/d".repeat(15)}`, `${"/d".repeat(15)}/`, "/"] }).ok);
});

Deno.test("parseInvalidation() accepts surrogate keys of any visible ASCII but the comma, as origins send them", () => {
  // ":" and "/" are common ("product:42", "cat/shoes"); a key naming another namespace ("other/x") is still scoped
  // to the caller's on the pod ("shop/other/x"), so it needs no refusal.
  const tags = ["product:42", "cat/shoes", "other/x", "/", 'a"b', "k=v;w", "x@y", "[1]", "{a}", "\\", "?#"];
  const parsed = parseInvalidation({ ...BASE, tags });
  ok(parsed.ok, parsed.ok ? "" : parsed.error);
  deepStrictEqual(parsed.value.tags, tags);
});

Deno.test("parseInvalidation() accepts 256 entries and a 256-character key", () => {
  const tags = Array.from({ length: MAX_INVALIDATION_ENTRIES }, (_, i) => `k${i}`);
  ok(parseInvalidation({ ...BASE, tags }).ok);
  ok(parseInvalidation({ ...BASE, tags: ["k".repeat(256)] }).ok);
});

Deno.test("parseInvalidation() refuses bad input with a message naming the field", async (t) => {
  const cases: [string, unknown, RegExp][] = [
    ["not an object", "purge everything", /expected object/],
    ["null", null, /expected object/],
    ["no target", { ...BASE }, /exactly one target .* found none/],
    ["two targets", { ...BASE, urls: ["/a"], tags: ["k"] }, /exactly one target .* found "urls" and "tags"/],
    ["all false", { ...BASE, all: false }, /all: must be true when present/],
    ["empty list", { ...BASE, urls: [] }, /urls: must not be empty/],
    ["257 entries", { ...BASE, prefixes: Array.from({ length: 257 }, () => "/") }, /prefixes: .*at most 256 entries/],
    ["unknown field", { ...BASE, all: true, paths: ["/a"] }, /unknown field "paths"/],
    ["missing namespace", { hostname: "a.example", all: true }, /namespace: /],
    ["bad namespace", { ...BASE, namespace: "Shop_1", all: true }, /namespace: must be a Kubernetes namespace name/],
    ["missing hostname", { namespace: "shop", all: true }, /hostname: /],
    ["empty hostname", { ...BASE, hostname: "", all: true }, /hostname: .*it is empty/],
    ["port", { ...BASE, hostname: "shop.example.com:8080", all: true }, /hostname: .*must not carry a port/],
    ["wildcard", { ...BASE, hostname: "*.example.com", all: true }, /hostname: .*must not be a wildcard/],
    ["trailing dot", { ...BASE, hostname: "shop.example.com.", all: true }, /hostname: .*empty label/],
    ["underscore", { ...BASE, hostname: "a_b.example.com", all: true }, /hostname: .*letters, digits and inner/],
    ["leading hyphen", { ...BASE, hostname: "-a.example.com", all: true }, /hostname: .*letters, digits and inner/],
    ["quote in hostname", { ...BASE, hostname: 'a"b', all: true }, /hostname: .*letters, digits and inner/],
    ["long label", { ...BASE, hostname: `${"a".repeat(64)}.example`, all: true }, /longer than 63/],
    ["long hostname", { ...BASE, hostname: `${"a.".repeat(127)}ab`, all: true }, /hostname: must be at most 253/],
    ["query in url", { ...BASE, urls: ["/a?b=1"] }, /urls\[0\]: a URL must not carry a query string/],
    ["fragment", { ...BASE, urls: ["/a#top"] }, /urls\[0\]: a URL must not carry a fragment/],
    ["relative url", { ...BASE, urls: ["/ok", "a/b"] }, /urls\[1\]: a URL must be an absolute path/],
    ["absolute URI", { ...BASE, urls: ["http://shop.example.com/a"] }, /urls\[0\]: a URL must be an absolute path/],
    ["space in url", { ...BASE, urls: ["/a b"] }, /urls\[0\]: .*RFC 3986 path characters/],
    ["quote in url", { ...BASE, urls: ['/a"||obj.http.x~"'] }, /urls\[0\]: .*RFC 3986 path characters/],
    ["bad escape", { ...BASE, urls: ["/a%zz"] }, /urls\[0\]: .*RFC 3986 path characters/],
    ["query in prefix", { ...BASE, prefixes: ["/a?"] }, /prefixes\[0\]: a prefix must not carry a query/],
    ["deep prefix", { ...BASE, prefixes: [`${"/d".repeat(16)}`] }, /prefixes\[0\]: a prefix must be at most 16/],
    ["long path", { ...BASE, urls: [`/${"a".repeat(2048)}`] }, /urls\[0\]: must be at most 2048/],
    ["empty key", { ...BASE, tags: [""] }, /tags\[0\]: must be a surrogate key/],
    ["key with space", { ...BASE, tags: ["a b"] }, /tags\[0\]: must be a surrogate key/],
    ["key with comma", { ...BASE, tags: ["a,b"] }, /tags\[0\]: must be a surrogate key/],
    ["key with tab", { ...BASE, tags: ["a\tb"] }, /tags\[0\]: must be a surrogate key/],
    ["key with newline", { ...BASE, tags: ["a\r\nx-b: c"] }, /tags\[0\]: must be a surrogate key/],
    ["key with control character", { ...BASE, tags: ["a\u0000"] }, /tags\[0\]: must be a surrogate key/],
    ["key with DEL", { ...BASE, tags: ["a\u007f"] }, /tags\[0\]: must be a surrogate key/],
    ["non-ASCII key", { ...BASE, tags: ["caf\u00e9"] }, /tags\[0\]: must be a surrogate key/],
    ["long key", { ...BASE, tags: ["k".repeat(257)] }, /tags\[0\]: must be at most 256/],
    ["soft not boolean", { ...BASE, soft: "no", all: true }, /soft: /],
  ];
  for (const [name, input, expected] of cases) {
    await t.step(name, () => {
      const parsed = parseInvalidation(input);
      ok(!parsed.ok, `accepted ${JSON.stringify(input)}`);
      match(parsed.error, /^Cannot accept the invalidation: /);
      match(parsed.error, expected);
    });
  }
});
