import { classAccepted, classSupportedVersion } from "./conditions.ts";
import { deepEqual } from "node:assert/strict";
import { gatewayClassSchema } from "../api_types.ts";
import { SUPPORTED_FEATURES } from "../features.ts";
import { gatewayClassConditions, type GatewayClassFacts, gatewayClassStatus } from "./gateway_class.ts";

const NOW = "2026-01-01T00:00:00Z";
const OLD = "2025-01-01T00:00:00Z";

Deno.test("gatewayClassConditions() derives Accepted and SupportedVersion from the facts", async (t) => {
  const cases: { name: string; facts: GatewayClassFacts; want: [string, string, string][] }[] = [
    {
      name: "no parameters, CRD version unknown",
      facts: { generation: 1 },
      want: [["Accepted", "True", "Accepted"], ["SupportedVersion", "True", "SupportedVersion"]],
    },
    {
      name: "bad parametersRef",
      facts: { generation: 1, parametersProblem: 'parametersRef to GatewayParameters "p" needs a namespace' },
      want: [["Accepted", "False", "InvalidParameters"], ["SupportedVersion", "True", "SupportedVersion"]],
    },
    {
      name: "another patch release of the same minor version",
      facts: { crdBundleVersion: "v1.6.0" },
      want: [["Accepted", "True", "Accepted"], ["SupportedVersion", "True", "SupportedVersion"]],
    },
    {
      name: "another minor version",
      facts: { crdBundleVersion: "v1.5.1" },
      want: [["Accepted", "True", "Accepted"], ["SupportedVersion", "False", "UnsupportedVersion"]],
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      deepEqual(gatewayClassConditions(c.facts).map((x) => [x.type, x.status, x.reason]), c.want);
    });
  }
});

Deno.test("gatewayClassConditions() names the class's problem and the versions in messages", () => {
  const [accepted, version] = gatewayClassConditions({
    generation: 3,
    parametersProblem: "parametersRef is broken",
    crdBundleVersion: "v1.4.0",
  });
  deepEqual(accepted.message, "GatewayClass parametersRef is broken");
  deepEqual(accepted.observedGeneration, 3);
  deepEqual(version.message, "Installed Gateway API CRDs are v1.4.0; Lacquer supports v1.6.1");
});

Deno.test("gatewayClassStatus() keeps transition times of unchanged conditions and lists the features", () => {
  const cls = gatewayClassSchema.parse({
    metadata: { name: "lacquer", generation: 2 },
    spec: { controllerName: "lacquer.dev/gateway-controller" },
    status: {
      conditions: [
        { ...classAccepted(1), lastTransitionTime: OLD },
        { ...classSupportedVersion("Gateway API v1.6.1 is supported", 1), lastTransitionTime: OLD },
      ],
    },
  });
  const out = gatewayClassStatus(cls, { crdBundleVersion: "v1.5.0" }, NOW);
  deepEqual(out.name, "lacquer");
  deepEqual(out.status.conditions.map((c) => [c.type, c.lastTransitionTime, c.observedGeneration]), [
    ["Accepted", OLD, 2],
    ["SupportedVersion", NOW, 2],
  ]);
  deepEqual(out.status.supportedFeatures, SUPPORTED_FEATURES.map((name) => ({ name })));
});
