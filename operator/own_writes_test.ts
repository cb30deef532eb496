import { deepEqual, equal, rejects } from "node:assert/strict";
import type { KubeObject } from "../internal/kube/mod.ts";
import { onlyWritten, OwnWrites } from "./own_writes.ts";

/** A Gateway-like object at a resourceVersion. */
function gw(
  rv: string,
  fields: { spec?: unknown; status?: unknown; labels?: Record<string, string> } = {},
): KubeObject {
  return {
    metadata: { name: "gw", namespace: "ns", resourceVersion: rv, ...(fields.labels ? { labels: fields.labels } : {}) },
    spec: fields.spec ?? { a: 1 },
    status: fields.status ?? {},
  };
}

/** Observes a change and tells whether it reacted. */
function reacts(own: OwnWrites, kind: string, old: KubeObject | undefined, current: KubeObject | undefined): boolean {
  let reacted = false;
  own.observe(kind, old, current, () => reacted = true);
  return reacted;
}

Deno.test("onlyWritten() tells a status write from a change of anything else, and an apply from a status change", () => {
  const before = gw("1");
  equal(onlyWritten("status", before, gw("2", { status: { x: 1 } })), true);
  equal(onlyWritten("status", before, gw("2", { spec: { a: 2 } })), false, "the spec changed too");
  equal(onlyWritten("status", before, gw("2", { labels: { l: "1" } })), false, "a label changed too");
  equal(onlyWritten("status", undefined, gw("2")), false, "a status write creates nothing");
  equal(onlyWritten("object", before, gw("2", { spec: { a: 2 }, labels: { l: "1" } })), true);
  equal(onlyWritten("object", before, gw("2", { status: { ip: "10.0.0.1" } })), false, "a load balancer's address");
  equal(onlyWritten("object", undefined, gw("2")), true, "created by the apply");
});

Deno.test("OwnWrites drops the echo of a write and passes every other change on", async () => {
  const own = new OwnWrites();
  await own.track("Gateway", "ns/gw", "status", () => Promise.resolve(gw("2", { status: { x: 1 } })));
  equal(reacts(own, "Gateway", gw("1"), gw("2", { status: { x: 1 } })), false, "our status write");
  equal(reacts(own, "Gateway", gw("2"), gw("2", { status: { x: 1 } })), true, "seen once: a repeat is news");
  equal(reacts(own, "Gateway", gw("2"), gw("3", { status: { y: 1 } })), true, "someone else's status write");
  equal(reacts(own, "HTTPRoute", gw("1"), gw("2", { status: { x: 1 } })), true, "another kind");
  // a relist merges someone else's spec change with our write: still news
  await own.track("Gateway", "ns/gw", "status", () => Promise.resolve(gw("5", { status: { x: 2 } })));
  equal(reacts(own, "Gateway", gw("3"), gw("5", { spec: { a: 2 }, status: { x: 2 } })), true);
});

Deno.test("OwnWrites decides a change that comes before its write's answer once the answer is there", async () => {
  const own = new OwnWrites();
  let answer!: (o: KubeObject) => void;
  const writing = own.track("ConfigMap", "ns/gw", "object", () => new Promise<KubeObject>((r) => answer = r));
  const reacted: string[] = [];
  own.observe("ConfigMap", gw("1"), gw("2"), () => reacted.push("echo"));
  own.observe("ConfigMap", gw("2"), gw("3"), () => reacted.push("after ours"));
  equal(reacted.length, 0, "held while the write is under way");
  answer(gw("2"));
  await writing;
  deepEqual(reacted, ["after ours"]);
  // a failed write remembers nothing: what it held is passed on
  const failing = own.track("ConfigMap", "ns/gw", "object", () => Promise.reject(new Error("timeout")));
  own.observe("ConfigMap", gw("3"), gw("4"), () => reacted.push("during a failed write"));
  await rejects(failing);
  deepEqual(reacted, ["after ours", "during a failed write"]);
});

Deno.test("OwnWrites drops the echo of a delete, but not a later delete of an object written again", async () => {
  const own = new OwnWrites();
  await own.track("ConfigMap", "ns/gw", "delete", () => Promise.resolve(undefined));
  equal(reacts(own, "ConfigMap", gw("1"), undefined), false, "our delete");
  equal(reacts(own, "ConfigMap", gw("1"), undefined), true, "a delete after it");
  await own.track("ConfigMap", "ns/gw", "delete", () => Promise.resolve(undefined));
  await own.track("ConfigMap", "ns/gw", "object", () => Promise.resolve(gw("7")));
  equal(reacts(own, "ConfigMap", undefined, gw("7")), false, "created again by our apply");
  equal(reacts(own, "ConfigMap", gw("7"), undefined), true, "deleted by someone else");
});
