import { deepStrictEqual, equal } from "node:assert/strict";
import { ACCESS_LOG_FORMAT, accessRecord } from "./access_log.ts";

const line = (fields: Record<string, string | null>) =>
  JSON.stringify({
    t: "1796035918171",
    client: "192.0.2.1",
    host1: "",
    host2: "shop.example.com",
    host3: "rewritten.example",
    method: "GET",
    path: "/cart",
    status: "200",
    bytes: "5",
    us: "1250",
    ghost: "",
    cache: "pass",
    ...fields,
  });

Deno.test("accessRecord() types varnishncsa's strings and reads ghost's decision line", () => {
  deepStrictEqual(accessRecord(line({ ghost: "200 shop/web rule 1 http shop/web:80 10.0.0.1:8080" })), {
    time: "2026-11-30T10:51:58.171Z",
    msg: "access",
    client: "192.0.2.1",
    host: "shop.example.com",
    method: "GET",
    path: "/cart",
    status: 200,
    bytes: 5,
    durationMs: 1.25,
    cache: "pass",
    route: "shop/web",
    rule: 1,
    listener: "http",
    backend: "shop/web:80",
    endpoint: "10.0.0.1:8080",
  });
});

Deno.test("accessRecord() reads ghost's own answers, varnishncsa's empty values and skips other lines", () => {
  const redirect = accessRecord(line({ status: "302", ghost: "302 shop/old rule 0 http https://x/", cache: "synth" }));
  deepStrictEqual([redirect?.route, redirect?.rule, redirect?.listener, redirect?.endpoint], [
    "shop/old",
    0,
    "http",
    undefined,
  ]);
  const notFound = accessRecord(
    line({ status: "404", ghost: "404 - http no route matches this request", bytes: null }),
  );
  deepStrictEqual([notFound?.route, notFound?.listener, notFound?.bytes], [undefined, "http", 0]);
  const noListener = accessRecord(line({ ghost: "200 shop/web rule 0 - shop/web:80 10.0.0.1:8080" }));
  deepStrictEqual([noListener?.listener, noListener?.endpoint], [undefined, "10.0.0.1:8080"]);
  const noGhost = accessRecord(line({ host2: "", bytes: "-" }));
  deepStrictEqual([noGhost?.host, noGhost?.listener, noGhost?.bytes], ["rewritten.example", undefined, 0]);
  equal(accessRecord("Log abandoned (vsl)"), undefined);
  equal(accessRecord("[1]"), undefined);
});

Deno.test("ACCESS_LOG_FORMAT is a JSON object of strings, so -j output always parses", () => {
  const format = JSON.parse(ACCESS_LOG_FORMAT) as Record<string, unknown>;
  equal(Object.values(format).every((v) => typeof v === "string"), true);
});
