import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { MAIN_VCL_KEY } from "../internal/names.ts";
import { routingJsonData } from "../internal/routing_config_map.ts";
import type { RoutingPush } from "../internal/routing_push.ts";
import type { GatewayConfig } from "./config_map_watcher.ts";
import { PUSH_TRUST_MS, PushedRouting } from "./pushed_routing.ts";

const shardText = '{"version":1,"listeners":[],"vhosts":{}}\n';

function push(sequence: number, vcl = `vcl ${sequence}`): RoutingPush {
  return {
    sequence,
    configMap: { data: { [MAIN_VCL_KEY]: vcl, "routing-shards.json": `manifest ${sequence}` } },
    shards: { "gw-lacquer-r0": routingJsonData(shardText), "gw-lacquer-r1": {} },
  };
}

function watched(sequence: number | undefined, vcl = "watched"): GatewayConfig {
  return { resourceVersion: "7", mainVcl: vcl, routingJson: "{}", ...(sequence !== undefined && { sequence }) };
}

function holder() {
  let now = 1_000;
  let changes = 0;
  const pushed = new PushedRouting(() => changes++, { now: () => now });
  return { pushed, tick: (ms: number) => now += ms, changes: () => changes };
}

Deno.test("a push newer than the watched generation is served, with its shards, until the watch catches up", () => {
  const { pushed, changes } = holder();
  try {
    equal(pushed.take(push(10), watched(9)), "taken");
    equal(changes(), 1);
    const config = pushed.choose(watched(9))!;
    deepStrictEqual([config.resourceVersion, config.mainVcl, config.routingShards, config.sequence], [
      "push:10",
      "vcl 10",
      "manifest 10",
      10,
    ]);
    // a shard without routing.json is not held: the reader fetches it by name
    deepStrictEqual([...config.shards!.keys()], ["gw-lacquer-r0"]);
    ok(config.shards!.get("gw-lacquer-r0")!.doc !== undefined);
    equal(pushed.choose(watched(10, "same generation"))!.mainVcl, "same generation");
    // dropped once caught up: an older watched one is not overtaken by it again
    equal(pushed.choose(watched(9))!.mainVcl, "watched");
  } finally {
    pushed.stop();
  }
});

Deno.test("a push not newer than the one held or the watched one is stale", () => {
  const { pushed } = holder();
  try {
    equal(pushed.take(push(5), watched(5)), "stale");
    equal(pushed.take(push(8), watched(5)), "taken");
    equal(pushed.take(push(8), watched(5)), "stale");
    equal(pushed.take(push(7), undefined), "stale");
    equal(pushed.choose(watched(5))!.sequence, 8);
    equal(pushed.take(push(9), watched(5)), "taken");
    equal(pushed.choose(undefined)!.sequence, 9);
  } finally {
    pushed.stop();
  }
});

Deno.test("a push the watch never catches up with is trusted for PUSH_TRUST_MS, then the watch is followed", () => {
  const { pushed, tick } = holder();
  try {
    pushed.take(push(10), watched(undefined));
    tick(PUSH_TRUST_MS);
    equal(pushed.choose(watched(undefined))!.sequence, 10);
    tick(1);
    equal(pushed.choose(watched(undefined))!.mainVcl, "watched");
    // and a push after it is taken again
    equal(pushed.take(push(11), watched(undefined)), "taken");
  } finally {
    pushed.stop();
  }
});

Deno.test("the end of a push's trust wakes the sync, which then serves the watched generation", async () => {
  let woken!: () => void;
  const wake = new Promise<void>((resolve) => woken = resolve);
  let changes = 0;
  const pushed = new PushedRouting(() => {
    if (++changes === 2) woken();
  }, { trustMs: 20 });
  equal(pushed.take(push(1), undefined), "taken");
  equal(pushed.choose(watched(undefined))!.sequence, 1);
  await wake;
  equal(pushed.choose(watched(undefined))!.mainVcl, "watched");
  pushed.stop();
});
