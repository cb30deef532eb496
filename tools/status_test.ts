import { deepEqual, equal, match } from "node:assert/strict";
import {
  APPLIED_ROUTING_ANNOTATION,
  APPLIED_VCL_ANNOTATION,
  CONTROLLER_NAME,
  GATEWAY_NAME_LABEL,
} from "../internal/names.ts";
import { ROUTING_HASH_ANNOTATION, VCL_HASH_ANNOTATION } from "../operator/children.ts";
import { formatStatusTable, type ListedObject, type StatusInput, summarizeStatus } from "./status.ts";

const ready = (status: string) => ({ conditions: [{ type: "Ready", status }] });

function pod(name: string, routing: string, vcl: string, readiness = "True"): ListedObject {
  return {
    metadata: {
      name,
      namespace: "shop",
      labels: { [GATEWAY_NAME_LABEL]: "gw" },
      annotations: { [APPLIED_ROUTING_ANNOTATION]: routing, [APPLIED_VCL_ANNOTATION]: vcl },
    },
    status: ready(readiness),
  };
}

const INPUT: StatusInput = {
  gatewayClasses: [
    { metadata: { name: "lacquer" }, spec: { controllerName: CONTROLLER_NAME } },
    { metadata: { name: "other" }, spec: { controllerName: "example.com/other" } },
  ],
  gateways: [
    {
      metadata: { name: "gw", namespace: "shop" },
      spec: { gatewayClassName: "lacquer" },
      status: {
        conditions: [{ type: "Accepted", status: "True" }, {
          type: "Programmed",
          status: "True",
          reason: "Programmed",
        }],
        listeners: [{ name: "http", attachedRoutes: 1, conditions: [{ type: "Conflicted", status: "False" }] }],
      },
    },
    { metadata: { name: "theirs", namespace: "shop" }, spec: { gatewayClassName: "other" } },
  ],
  httpRoutes: [{
    metadata: { name: "r", namespace: "shop" },
    spec: { hostnames: ["a.example.com"] },
    status: {
      parents: [
        {
          parentRef: { name: "gw" },
          controllerName: CONTROLLER_NAME,
          conditions: [{ type: "Accepted", status: "True" }, {
            type: "ResolvedRefs",
            status: "False",
            reason: "BackendNotFound",
            message: "Service shop/x not found",
          }],
        },
        { parentRef: { name: "theirs" }, controllerName: "example.com/other", conditions: [] },
      ],
    },
  }],
  cachePolicies: [],
  pods: [
    pod("gw-1", "a".repeat(64), "b".repeat(64)),
    pod("gw-2", "c".repeat(64), "b".repeat(64)),
    pod("gw-3", "", "", "False"),
  ],
  configMaps: [{
    metadata: {
      name: "gw-lacquer",
      namespace: "shop",
      annotations: { [ROUTING_HASH_ANNOTATION]: "a".repeat(64), [VCL_HASH_ANNOTATION]: "b".repeat(64) },
    },
  }],
};

Deno.test("summarizeStatus keeps Lacquer's objects, compares each pod's applied hashes and lists every problem", () => {
  const summary = summarizeStatus(INPUT);
  deepEqual(summary.gateways.map((g) => g.name), ["shop/gw"]);
  deepEqual(summary.gateways[0].pods.map((p) => [p.name, p.ready, p.current]), [
    ["gw-1", true, true],
    ["gw-2", true, false],
    ["gw-3", false, false],
  ]);
  deepEqual(summary.routes[0].parents, [{
    gateway: "shop/gw",
    accepted: "True",
    resolvedRefs: "False (BackendNotFound)",
  }]);
  deepEqual(summary.problems, [
    "Pod shop/gw-2 of Gateway shop/gw: does not serve the current configuration",
    "Pod shop/gw-3 of Gateway shop/gw: not Ready",
    "HTTPRoute shop/r on shop/gw: ResolvedRefs=False (BackendNotFound): Service shop/x not found",
  ]);
  equal(summarizeStatus(INPUT, "elsewhere").gateways.length, 0);
});

Deno.test("formatStatusTable prints one table per kind and the problems", () => {
  const text = formatStatusTable(summarizeStatus(INPUT));
  match(text, /^GATEWAY +CLASS +ACCEPTED +PROGRAMMED/);
  match(text, /shop\/gw +lacquer +True +True +- +http\(1\) +aaaaaaaaaaaa +1\/2\/3\n/);
  match(text, /gw-2 +shop\/gw +true +cccccccccccc +bbbbbbbbbbbb +false/);
  match(text, /PROBLEMS \(3\)\n- Pod shop\/gw-2/);
  match(formatStatusTable({ gateways: [], routes: [], policies: [], problems: [] }), /no problems\n$/);
});
