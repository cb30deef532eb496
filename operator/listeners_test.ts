import { deepEqual, equal } from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { gatewaySchema } from "./api_types.ts";
import { type ListenerResult, validateListeners } from "./listeners.ts";
import { parseSnapshot } from "./snapshot.ts";
import { indexSnapshot } from "./snapshot_index.ts";

// Secrets "good" and "malformed" in infra, "shared" in app with a ReferenceGrant for Gateways of infra.
const fixtures = parseSnapshot(
  parseAllDocuments(Deno.readTextFileSync(new URL("testdata/translate/https_certificates.in.yaml", import.meta.url)))
    .map((d) => d.toJS()).filter((d) => d !== null),
);
const index = indexSnapshot({ ...fixtures, gateways: [] }, "lacquer.dev/gateway-controller");

function validate(listeners: unknown[]): ListenerResult[] {
  const gateway = gatewaySchema.parse({
    metadata: { name: "gw", namespace: "infra", generation: 1 },
    spec: { gatewayClassName: "lacquer", listeners },
  });
  return validateListeners(gateway, index);
}

/** [attachable, usable, Accepted reason, Conflicted reason, ResolvedRefs reason, supported kinds] */
function facts(l: ListenerResult): unknown[] {
  return [
    l.attachable,
    l.usable,
    l.notAccepted?.reason ?? "-",
    l.conflicted?.reason ?? "-",
    l.refsNotResolved?.reason ?? "-",
    l.supportedKinds.map((k) => k.kind).join(","),
  ];
}

const http = (name: string, port = 80, extra = {}) => ({ name, port, protocol: "HTTP", ...extra });
const https = (name: string, secret: string, extra = {}) => ({
  name,
  port: 443,
  protocol: "HTTPS",
  tls: { certificateRefs: [{ name: secret, ...extra }] },
});

Deno.test("validateListeners() finds each listener problem with the spec's reason", async (t) => {
  const cases: { name: string; listeners: unknown[]; want: unknown[][] }[] = [
    { name: "plain HTTP", listeners: [http("a")], want: [[true, true, "-", "-", "-", "HTTPRoute"]] },
    {
      name: "unsupported protocol supports no route kind",
      listeners: [{ name: "a", port: 53, protocol: "UDP" }],
      want: [[false, false, "UnsupportedProtocol", "-", "-", ""]],
    },
    {
      name: "ports of the gateway pod are reserved",
      listeners: [http("a", 8901), http("b", 6082), http("c", 6091)],
      want: [
        [false, false, "PortUnavailable", "-", "-", "HTTPRoute"],
        [false, false, "PortUnavailable", "-", "-", "HTTPRoute"],
        [false, false, "PortUnavailable", "-", "-", "HTTPRoute"],
      ],
    },
    {
      name: "TLS passthrough",
      listeners: [{ ...https("a", "good"), tls: { mode: "Passthrough" } }],
      want: [[false, false, "UnsupportedValue", "-", "InvalidCertificateRef", "HTTPRoute"]],
    },
    {
      name: "two protocols on one port",
      listeners: [http("a", 443), https("b", "good")],
      want: [
        [false, false, "-", "ProtocolConflict", "-", "HTTPRoute"],
        [false, false, "-", "ProtocolConflict", "-", "HTTPRoute"],
      ],
    },
    {
      name: "same port and hostname; another hostname is fine",
      listeners: [
        http("a", 80, { hostname: "x.example" }),
        http("b", 80, { hostname: "x.example" }),
        http("c", 80, { hostname: "y.example" }),
      ],
      want: [
        [false, false, "-", "HostnameConflict", "-", "HTTPRoute"],
        [false, false, "-", "HostnameConflict", "-", "HTTPRoute"],
        [true, true, "-", "-", "-", "HTTPRoute"],
      ],
    },
    {
      name: "route kinds we do not implement",
      listeners: [http("a", 80, { allowedRoutes: { kinds: [{ kind: "TCPRoute" }] } })],
      want: [[false, false, "-", "-", "InvalidRouteKinds", ""]],
    },
    {
      name: "some route kinds we implement",
      listeners: [http("a", 80, { allowedRoutes: { kinds: [{ kind: "TCPRoute" }, { kind: "HTTPRoute" }] } })],
      want: [[true, true, "-", "-", "InvalidRouteKinds", "HTTPRoute"]],
    },
    {
      name: "HTTPS with a usable certificate",
      listeners: [https("a", "good")],
      want: [[true, true, "-", "-", "-", "HTTPRoute"]],
    },
    {
      name: "bad certificates: routes attach, the data plane does not serve",
      listeners: [https("a", "missing"), { ...https("b", "malformed"), port: 444 }],
      want: [
        [true, false, "-", "-", "InvalidCertificateRef", "HTTPRoute"],
        [true, false, "-", "-", "InvalidCertificateRef", "HTTPRoute"],
      ],
    },
    {
      name: "certificates across namespaces need a grant",
      listeners: [https("a", "shared", { namespace: "app" }), {
        ...https("b", "good", { namespace: "app" }),
        port: 444,
      }],
      want: [
        [true, true, "-", "-", "-", "HTTPRoute"],
        [true, false, "-", "-", "RefNotPermitted", "HTTPRoute"],
      ],
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => deepEqual(validate(c.listeners).map(facts), c.want));
  }
});

Deno.test("validateListeners() explains why a listener is not served, first problem first", () => {
  const [reserved, missing, tcp] = validate([
    http("a", 8901),
    https("b", "missing"),
    { name: "c", port: 81, protocol: "TCP" },
  ]);
  equal(reserved.problem, "port 8901 is reserved by the gateway pod");
  equal(reserved.notAccepted?.message, "Listener port 8901 is reserved by the gateway pod");
  equal(missing.problem, 'Secret "infra/missing" not found');
  equal(tcp.problem, 'protocol "TCP" is not supported: use HTTP or HTTPS');
  deepEqual(validate([http("a")])[0].socket, "port-80");
  equal(validate([http("a")])[0].problem, undefined);
});
