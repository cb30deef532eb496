import { deepEqual, equal } from "node:assert/strict";
import { changeStages, parseLogLines } from "./propagation_stages.ts";

const NAMES = { configMap: "ns/gw-lacquer", gateway: "ns/gw" };
const T0 = Date.parse("2026-12-01T01:00:00.000Z");
const at = (ms: number) => new Date(T0 + ms).toISOString();

const OPERATOR = parseLogLines([
  // an earlier change's write, before this one was answered
  JSON.stringify({ time: at(5), msg: "Child object applied", object: "ns/gw-lacquer" }),
  JSON.stringify({ time: at(20), msg: "Child object applied", object: "ns/gw-lacquer-r3" }),
  JSON.stringify({ time: at(24), msg: "Child object applied", object: "ns/gw-lacquer", requestMs: 4 }),
  // the reconcile that wrote it: started at 15, prepared for 1 ms, translated for 3 ms
  JSON.stringify({
    time: at(26),
    msg: "Gateway reconciled",
    gateway: "ns/gw",
    prepareMs: 1,
    translateMs: 3,
    durationMs: 11,
  }),
  "not a JSON line",
].join("\n"));

/** A chaperone's sync as the kubelet stores the container's line. */
const sync = (end: number, totalMs: number) =>
  `${at(end)} stderr F ` + JSON.stringify({
    time: at(end),
    msg: "Sync finished",
    waitMs: 0.5,
    readMs: 4,
    buildMs: 1,
    writeMs: 0.5,
    ghostMs: 3,
    ghostOwnMs: 1.5,
    fetchMs: 3,
    parseMs: 1,
    totalMs,
  });

Deno.test("parseLogLines() reads bare JSON lines and the kubelet's container lines, and leaves the rest out", () => {
  equal(OPERATOR.length, 4);
  const [line] = parseLogLines(sync(40, 10));
  equal(line.time, T0 + 40);
  equal(line.fields.readMs, 4);
});

Deno.test("changeStages() places a route change's stages at the pod that answered last", () => {
  const pods = [
    parseLogLines(sync(33, 7)),
    // the slowest pod: an older sync, then the one of this change (event at 26, end at 36)
    parseLogLines([sync(3, 2), sync(36, 10)].join("\n")),
  ];
  const stages = changeStages(
    { started: T0 + 2, acknowledged: T0 + 10, served: [T0 + 34, T0 + 38.5], throughOperator: true },
    OPERATOR,
    pods,
    NAMES,
  );
  deepEqual(stages, {
    api: 8,
    operator: 14,
    queued: 5,
    prepare: 1,
    translate: 3,
    apply: 4,
    watch: 2,
    wait: 0.5,
    read: 4,
    fetch: 3,
    parse: 1,
    build: 1,
    write: 0.5,
    ghost: 3,
    ghostOwn: 1.5,
    other: 1,
    response: 2.5,
  });
  // an endpoint change does not go through the operator: the watch counts from the API server's answer
  const endpoint = changeStages(
    { started: T0, acknowledged: T0 + 20, served: [T0 + 34, T0 + 38.5], throughOperator: false },
    [],
    pods,
    NAMES,
  );
  equal(endpoint.operator, undefined);
  equal(endpoint.watch, 6);
});

Deno.test("changeStages() tells the answer's round trip within the response, at the pod that answered last", () => {
  const pods = [parseLogLines(sync(33, 7)), parseLogLines(sync(36, 10))];
  const change = { started: T0 + 2, acknowledged: T0 + 10, served: [T0 + 34, T0 + 46], throughOperator: true };
  // asked at 40.5 (after the sync's end at 36): 4.5 ms of polling, then a 5.5 ms answer
  const stages = changeStages({ ...change, asked: [T0 + 33.5, T0 + 40.5] }, OPERATOR, pods, NAMES);
  deepEqual([stages.response, stages.answer], [10, 5.5]);
  // asked before the sync's end and routed after it: the answer is all of the response
  equal(changeStages({ ...change, asked: [T0 + 33.5, T0 + 30] }, OPERATOR, pods, NAMES).answer, 10);
});

Deno.test("changeStages() places a pushed change at its push, not at the ConfigMap write beside it", () => {
  const operator = parseLogLines([
    // a push no pod took counts for nothing
    JSON.stringify({ time: at(12), msg: "Routing pushed", gateway: "ns/gw", taken: 0, durationMs: 1 }),
    // sent at 16, the last answer at 18
    JSON.stringify({ time: at(18), msg: "Routing pushed", gateway: "ns/gw", taken: 2, durationMs: 2 }),
    JSON.stringify({ time: at(24), msg: "Child object applied", object: "ns/gw-lacquer", requestMs: 7 }),
    JSON.stringify({ time: at(26), msg: "Gateway reconciled", gateway: "ns/gw", prepareMs: 1, translateMs: 3 }),
  ].join("\n"));
  // the pod took the push at 17 and served it from 22: before the write was done
  const stages = changeStages(
    { started: T0 + 2, acknowledged: T0 + 10, served: [T0 + 23.5], throughOperator: true },
    operator,
    // then the write's watch event: a sync that changes nothing, still before the first correct response
    [parseLogLines(
      [sync(22, 5), JSON.stringify({ time: at(23), msg: "Sync finished", ghostMs: 0, totalMs: 0.5 })].join("\n"),
    )],
    NAMES,
  );
  deepEqual([stages.operator, stages.apply, stages.translate, stages.watch, stages.response], [
    6,
    undefined,
    3,
    1,
    1.5,
  ]);
});

Deno.test("changeStages() leaves out what the logs do not show", () => {
  deepEqual(
    changeStages({ started: T0, acknowledged: T0 + 3, served: [T0 + 50], throughOperator: true }, [], [[]], NAMES),
    { api: 3 },
  );
});
