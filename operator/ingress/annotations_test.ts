import { deepEqual, equal } from "node:assert/strict";
import { readAnnotations } from "./annotations.ts";

Deno.test("readAnnotations reads ingress-nginx names, and Lacquer's own names win over them", () => {
  const read = readAnnotations({
    "nginx.ingress.kubernetes.io/rewrite-target": "/nginx",
    "lacquer.dev/rewrite-target": "/lacquer",
    "nginx.ingress.kubernetes.io/ssl-redirect": "false",
    "nginx.ingress.kubernetes.io/use-regex": "true",
    "nginx.ingress.kubernetes.io/upstream-vhost": "internal.example",
    "nginx.ingress.kubernetes.io/backend-protocol": "http",
    "lacquer.dev/cache-policy": "static",
  });
  deepEqual(read, {
    sslRedirect: false,
    forceSslRedirect: false,
    useRegex: true,
    rewriteTarget: "/lacquer",
    upstreamVhost: "internal.example",
    cachePolicy: "static",
    problems: [],
  });
});

Deno.test("readAnnotations reads canary settings only on an Ingress marked canary", () => {
  const canary = {
    "nginx.ingress.kubernetes.io/canary-weight": "30",
    "nginx.ingress.kubernetes.io/canary-by-header": "X-Canary",
    "nginx.ingress.kubernetes.io/canary-by-header-value": "yes",
  };
  equal(readAnnotations(canary).canary, undefined);
  deepEqual(readAnnotations({ ...canary, "nginx.ingress.kubernetes.io/canary": "true" }).canary, {
    weight: 30,
    weightTotal: 100,
    header: "X-Canary",
    headerValue: "yes",
  });
});

Deno.test("readAnnotations reports unsupported, invalid and unknown controller annotations, and nothing else", () => {
  const read = readAnnotations({
    "nginx.ingress.kubernetes.io/proxy-send-timeout": "30",
    "nginx.ingress.kubernetes.io/auth-url": "http://auth",
    "nginx.ingress.kubernetes.io/backend-protocol": "GRPC",
    "nginx.ingress.kubernetes.io/ssl-redirect": "yes",
    "nginx.ingress.kubernetes.io/canary": "true",
    "nginx.ingress.kubernetes.io/canary-weight": "150",
    "alb.ingress.kubernetes.io/scheme": "internet-facing",
    "lacquer.dev/made-up": "1",
    "kubernetes.io/ingress.class": "lacquer",
    "kubectl.kubernetes.io/last-applied-configuration": "{}",
    "meta.helm.sh/release-name": "shop",
  });
  deepEqual(read.problems.map((p) => `${p.kind} ${p.annotation}`).sort(), [
    "Invalid nginx.ingress.kubernetes.io/canary-weight",
    "Invalid nginx.ingress.kubernetes.io/ssl-redirect",
    "Unknown alb.ingress.kubernetes.io/scheme",
    "Unknown lacquer.dev/made-up",
    "Unsupported nginx.ingress.kubernetes.io/auth-url",
    "Unsupported nginx.ingress.kubernetes.io/backend-protocol",
    "Unsupported nginx.ingress.kubernetes.io/proxy-send-timeout",
  ]);
  equal(read.sslRedirect, true, "an invalid value leaves the default");
  deepEqual(read.canary, { weightTotal: 100 });
});

Deno.test("readAnnotations turns enable-cors into a CORS filter, with ingress-nginx's defaults where no cors-* is set", () => {
  deepEqual(readAnnotations({ "nginx.ingress.kubernetes.io/enable-cors": "true" }).cors, {
    allowOrigins: ["*"],
    allowCredentials: true,
    allowMethods: ["GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"],
    allowHeaders: [
      "DNT",
      "Keep-Alive",
      "User-Agent",
      "X-Requested-With",
      "If-Modified-Since",
      "Cache-Control",
      "Content-Type",
      "Range",
      "Authorization",
    ],
    exposeHeaders: [],
    maxAge: 1728000,
  });
  const set = readAnnotations({
    "nginx.ingress.kubernetes.io/enable-cors": "true",
    "nginx.ingress.kubernetes.io/cors-allow-origin": "https://a.example, https://b.example:8443",
    "nginx.ingress.kubernetes.io/cors-allow-methods": "get, post",
    "nginx.ingress.kubernetes.io/cors-allow-credentials": "false",
    "nginx.ingress.kubernetes.io/cors-expose-headers": "X-Total",
    "nginx.ingress.kubernetes.io/cors-max-age": "600",
  });
  deepEqual(set.problems, []);
  deepEqual(
    { ...set.cors, allowHeaders: [] },
    {
      allowOrigins: ["https://a.example", "https://b.example:8443"],
      allowCredentials: false,
      allowMethods: ["GET", "POST"],
      allowHeaders: [],
      exposeHeaders: ["X-Total"],
      maxAge: 600,
    },
  );
  equal(readAnnotations({ "nginx.ingress.kubernetes.io/cors-allow-origin": "*" }).cors, undefined);
});

Deno.test("readAnnotations makes proxy-read-timeout the rules' backend timeout, except on a canary", () => {
  const timeout = (value: string, more: Record<string, string> = {}) =>
    readAnnotations({ "nginx.ingress.kubernetes.io/proxy-read-timeout": value, ...more });
  equal(timeout("120").backendTimeout, "120s");
  deepEqual(timeout("120").problems, []);
  equal(timeout("2m").backendTimeout, undefined, "whole seconds only, as ingress-nginx reads it");
  deepEqual(timeout("2m").problems.map((p) => p.kind), ["Invalid"]);
  deepEqual(timeout("0").problems.map((p) => p.kind), ["Invalid"], "0 would disable the timeout in ghost");
  const canary = timeout("120", { "nginx.ingress.kubernetes.io/canary": "true" });
  equal(canary.backendTimeout, undefined);
  deepEqual(canary.problems.map((p) => `${p.kind} ${p.annotation}`), [
    "Unsupported nginx.ingress.kubernetes.io/proxy-read-timeout",
  ]);
});
