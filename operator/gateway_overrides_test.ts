import { deepEqual } from "node:assert/strict";
import { GATEWAY_OVERRIDES, gatewayOverrides } from "./gateway_overrides.ts";
import { gatewayParametersSchema } from "./gateway_parameters.ts";

const own = gatewayParametersSchema.parse({
  metadata: { name: "own", namespace: "web" },
  spec: {
    image: "evil:1",
    imagePullPolicy: "Always",
    env: [{ name: "TZ", value: "UTC" }],
    storage: "malloc,64g",
    varnishdArgs: ["-p", "thread_pool_max=5000"],
    vcl: { configMapRef: { name: "vcl" } },
    replicas: 3,
    service: { type: "ClusterIP" },
    allowedGatewayOverrides: ["image"],
  },
});

Deno.test("gatewayOverrides() leaves out every class-level field the class does not allow, and the grant itself", () => {
  const { parameters, refused } = gatewayOverrides(own, []);
  deepEqual(parameters.spec, { replicas: 3, service: { type: "ClusterIP" } });
  deepEqual(parameters.metadata, own.metadata);
  deepEqual(refused.map((r) => r.field), [
    "image",
    "imagePullPolicy",
    "env",
    "storage",
    "varnishdArgs",
    "vcl",
    "allowedGatewayOverrides",
  ]);
  deepEqual(refused[0].why, "it chooses the program the gateway pods run");
});

Deno.test("gatewayOverrides() keeps the fields the class allows", () => {
  const { parameters, refused } = gatewayOverrides(own, ["image", "vcl"]);
  deepEqual(Object.keys(parameters.spec).sort(), ["image", "imagePullPolicy", "replicas", "service", "vcl"]);
  deepEqual(refused.map((r) => r.field), ["env", "storage", "varnishdArgs", "allowedGatewayOverrides"]);
  const all = gatewayOverrides(own, GATEWAY_OVERRIDES);
  deepEqual(all.refused.map((r) => r.field), ["allowedGatewayOverrides"]);
});

Deno.test("gatewayOverrides() refuses nothing of an object that sets no class-level field", () => {
  const plain = gatewayParametersSchema.parse({ metadata: { name: "p" }, spec: { replicas: 2, http2: true } });
  const { parameters, refused } = gatewayOverrides(plain, []);
  deepEqual(parameters, plain);
  deepEqual(refused, []);
});
