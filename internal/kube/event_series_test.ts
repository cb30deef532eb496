import { deepEqual, equal } from "node:assert/strict";
import { EventSeriesTable, truncateUtf8 } from "./event_series.ts";

const MIN = 60_000;

Deno.test("EventSeriesTable: a repeat within the window joins the series; after the window it is a new Event", () => {
  const table = new EventSeriesTable({ flushMs: 1000 });
  deepEqual(table.decide("k", "gw", 0), { kind: "create" });
  table.created("k", "ns/gw.1", 5);
  deepEqual(table.decide("k", "gw", 10), { kind: "repeat", count: 2, dueInMs: 995 });
  deepEqual(table.decide("k", "gw", 20), { kind: "repeat", count: 3, dueInMs: 985 });
  deepEqual(table.due(500), [], "not before the flush interval");
  equal(table.nextDueInMs(500), 505);
  deepEqual(table.due(1005), [{ key: "k", ref: "ns/gw.1", count: 3, lastMs: 20 }]);
  equal(table.nextDueInMs(1005), undefined, "handed out once");
  deepEqual(table.due(5000), [], "nothing new to write");
  // A repeat long after the last write is due at once.
  deepEqual(table.decide("k", "gw", 60_000), { kind: "repeat", count: 4, dueInMs: 0 });
  deepEqual(table.due(60_000).map((s) => s.count), [4]);
  // 6 minutes after the last repeat the series is over: the next occurrence is a new Event.
  deepEqual(table.decide("k", "gw", 60_000 + 6 * MIN + 1), { kind: "create" });
});

Deno.test("EventSeriesTable: a repeat before the create is written waits for its name; shutdown takes every series", () => {
  const table = new EventSeriesTable({ flushMs: 1000 });
  table.decide("k", "gw", 0);
  table.decide("k", "gw", 1);
  deepEqual(table.due(5000, true), [], "no Event to patch yet");
  equal(table.nextDueInMs(5000), undefined, "the create schedules it");
  table.created("k", "ns/gw.1", 2);
  deepEqual(table.due(3, true), [{ key: "k", ref: "ns/gw.1", count: 2, lastMs: 1 }]);
});

Deno.test("EventSeriesTable: each object gets a burst of new Events, then one per refill period; repeats are free", () => {
  const table = new EventSeriesTable({ burst: 3, refillMs: MIN });
  const kinds = (keys: string[], t: number) => keys.map((k) => table.decide(k, "gw", t).kind);
  deepEqual(kinds(["a", "b", "c", "d"], 0), ["create", "create", "create", "drop"]);
  deepEqual(kinds(["a", "b"], 10), ["repeat", "repeat"], "repeats spend no token");
  deepEqual(kinds(["x"], 0).concat(table.decide("y", "other", 0).kind), ["drop", "create"], "per object");
  deepEqual(kinds(["d"], MIN - 1), ["drop"]);
  deepEqual(kinds(["d", "e"], MIN), ["create", "drop"], "one token per refill period");
  deepEqual(kinds(["e", "f"], 3 * MIN + 5), ["create", "create"], "tokens earned while idle");
});

Deno.test("EventSeriesTable: forgotten and failed events start over; memory stays bounded", () => {
  const table = new EventSeriesTable({ maxEntries: 2 });
  table.decide("a", "o1", 0);
  table.forget("a");
  equal(table.decide("a", "o1", 1).kind, "create");
  table.decide("b", "o2", 2);
  table.decide("c", "o3", 3);
  equal(table.decide("a", "o1", 4).kind, "create", "the oldest entry was forgotten");
});

Deno.test("truncateUtf8 cuts on a character boundary within the byte limit", () => {
  equal(truncateUtf8("short", 10), "short");
  equal(truncateUtf8("abcdef", 4), "a…");
  const cut = truncateUtf8("é".repeat(600), 1024);
  equal(new TextEncoder().encode(cut).length <= 1024, true);
  equal(cut, "é".repeat(510) + "…");
});
