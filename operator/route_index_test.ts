import { deepEqual, equal } from "node:assert/strict";
import type { HttpRoute } from "./api_types.ts";
import { RouteIndex } from "./route_index.ts";

const route = (namespace: string, name: string, path = "/") =>
  ({ metadata: { namespace, name }, spec: { rules: [{ matches: [{ path: { value: path } }] }] } }) as HttpRoute;

Deno.test("RouteIndex keeps each key's routes in the order they came, a replaced one at its place", () => {
  const index = new RouteIndex();
  index.put("gw/a", "x/r1", route("x", "r1"));
  index.put("gw/a", "y/r2", route("y", "r2"));
  const changed = route("x", "r1", "/changed");
  index.put("gw/a", "x/r1", changed);
  deepEqual([...index.routes("gw/a")!.keys()], ["x/r1", "y/r2"]);
  equal(index.routes("gw/a")!.get("x/r1"), changed);
  equal(index.routes("gw/b"), undefined);
});

Deno.test("RouteIndex tells the Namespaces of a key's routes as they come and go", () => {
  const index = new RouteIndex();
  index.put("gw/a", "x/r1", route("x", "r1"));
  index.put("gw/a", "x/r2", route("x", "r2"));
  index.put("gw/a", "y/r3", route("y", "r3"));
  index.put("gw/b", "z/r4", route("z", "r4"));
  // a route put again is counted once
  index.put("gw/a", "x/r1", route("x", "r1", "/other"));
  deepEqual([...index.namespaces("gw/a")].sort(), ["x", "y"]);
  index.remove("gw/a", "x/r1");
  deepEqual([...index.namespaces("gw/a")].sort(), ["x", "y"], "x/r2 is left in x");
  index.remove("gw/a", "x/r2");
  index.remove("gw/a", "x/r2");
  deepEqual([...index.namespaces("gw/a")], ["y"]);
  deepEqual([...index.namespaces("gw/b")], ["z"]);
  deepEqual([...index.namespaces("gw/c")], []);
  // the key stays known (an emptied ListenerSet key is still looked at by the reconcile)
  deepEqual([...index.keys()], ["gw/a", "gw/b"]);
  index.clear();
  deepEqual([...index.keys()], []);
  deepEqual([...index.namespaces("gw/b")], []);
});
