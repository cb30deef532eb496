import { deepStrictEqual, equal, throws } from "node:assert/strict";
import { parseRoutingPush, routingSequenceOf } from "./routing_push.ts";

Deno.test("parseRoutingPush() takes a push and names what is wrong with one that is not", () => {
  const push = {
    sequence: 1733140000123,
    configMap: { data: { "main.vcl": "vcl 4.1;\n", "routing-shards.json": "{}" } },
    shards: { "gw-lacquer-r3": { binaryData: { "routing.json.gz": "H4sI" } } },
  };
  deepStrictEqual(parseRoutingPush(push), push);
  throws(() => parseRoutingPush({ ...push, sequence: 0 }), /sequence/);
  throws(() => parseRoutingPush({ ...push, sequence: 1.5 }), /sequence/);
  throws(() => parseRoutingPush({ ...push, configMap: { data: { "main.vcl": 3 } } }), /configMap\.data\.main\.vcl/);
  throws(() => parseRoutingPush({ ...push, extra: true }), /unknown field "extra"/);
  throws(() => parseRoutingPush([]), /Cannot take the routing push/);
});

Deno.test("routingSequenceOf() reads a positive integer and nothing else", () => {
  equal(routingSequenceOf({ "lacquer.dev/routing-sequence": "1733140000123" }), 1733140000123);
  for (const text of ["0", "-1", "1.5", "01", "", "12345678901234567890", "1e3"]) {
    equal(routingSequenceOf({ "lacquer.dev/routing-sequence": text }), undefined, text);
  }
  equal(routingSequenceOf(undefined), undefined);
  equal(routingSequenceOf(null), undefined);
});
