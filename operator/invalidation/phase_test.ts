import { deepEqual, equal } from "node:assert/strict";
import {
  failedStatus,
  type InvalidationStatus,
  isTerminal,
  nextStatus,
  type PassFacts,
  pendingStatus,
  podsToAttempt,
} from "./phase.ts";

const NOW = "2026-01-01T00:00:10Z";
const facts = (f: Partial<PassFacts>): PassFacts => ({
  generation: 1,
  now: NOW,
  elapsedMs: 0,
  deadlineMs: 60_000,
  live: [],
  attempts: [],
  ...f,
});
const ok = (pod: string, affected?: number) => ({ pod, ok: true, durationMs: 4.4, ...(affected ? { affected } : {}) });
const fail = (pod: string) => ({ pod, ok: false, durationMs: 7, error: "unreachable: refused" });

Deno.test("first pass: every live pod is a target; all confirm → Complete", () => {
  deepEqual(podsToAttempt(undefined, ["ns/b", "ns/a"]), ["ns/a", "ns/b"]);
  const { status, retryAfterMs } = nextStatus(facts({ live: ["ns/b", "ns/a"], attempts: [ok("ns/a", 3), ok("ns/b")] }));
  equal(retryAfterMs, undefined);
  deepEqual(status, {
    phase: "Complete",
    observedGeneration: 1,
    startedAt: NOW,
    completedAt: NOW,
    total: 2,
    succeeded: 2,
    pods: [
      { pod: "ns/a", result: "Succeeded", objectsAffected: 3, durationMs: 4, attempts: 1 },
      { pod: "ns/b", result: "Succeeded", durationMs: 4, attempts: 1 },
    ],
  });
  equal(isTerminal(status.phase), true);
});

Deno.test("no live pod: Complete at once, saying nothing was cached", () => {
  const { status } = nextStatus(facts({}));
  equal(status.phase, "Complete");
  equal(status.total, 0);
  equal(status.message, "no live gateway pod: nothing was cached");
});

Deno.test("an unreachable pod keeps it Running with back-off, is retried, and a later success completes it", () => {
  const first = nextStatus(facts({ live: ["ns/a", "ns/b"], attempts: [ok("ns/a"), fail("ns/b")] }));
  equal(first.status.phase, "Running");
  equal(first.retryAfterMs, 1_000);
  equal(first.status.succeeded, 1);
  deepEqual(first.status.pods[1], {
    pod: "ns/b",
    result: "Failed",
    durationMs: 7,
    attempts: 1,
    error: "unreachable: refused",
  });
  // only the pod not done is asked again
  deepEqual(podsToAttempt(first.status, ["ns/a", "ns/b"]), ["ns/b"]);
  const second = nextStatus(
    facts({ previous: first.status, elapsedMs: 1_000, live: ["ns/a", "ns/b"], attempts: [fail("ns/b")] }),
  );
  equal(second.status.phase, "Running");
  equal(second.retryAfterMs, 2_000);
  equal(second.status.startedAt, NOW);
  const third = nextStatus(
    facts({ previous: second.status, elapsedMs: 3_000, live: ["ns/a", "ns/b"], attempts: [ok("ns/b")] }),
  );
  equal(third.status.phase, "Complete");
  deepEqual(third.status.pods.map((p) => [p.pod, p.result, p.attempts]), [["ns/a", "Succeeded", 1], [
    "ns/b",
    "Succeeded",
    3,
  ]]);
});

Deno.test("a target that is no longer live is Gone, which counts as done; a new pod is not a target", () => {
  const first = nextStatus(facts({ live: ["ns/a", "ns/b"], attempts: [ok("ns/a"), fail("ns/b")] }));
  deepEqual(podsToAttempt(first.status, ["ns/a", "ns/c"]), []);
  const second = nextStatus(facts({ previous: first.status, elapsedMs: 1_000, live: ["ns/a", "ns/c"], attempts: [] }));
  equal(second.status.phase, "Complete");
  equal(second.status.succeeded, 2);
  deepEqual(second.status.pods.map((p) => [p.pod, p.result]), [["ns/a", "Succeeded"], ["ns/b", "Gone"]]);
  equal(second.status.pods[1].error, undefined);
});

Deno.test("the deadline makes it terminal: PartiallyFailed with some done, Failed with none, naming the pods", () => {
  const partial = nextStatus(
    facts({ elapsedMs: 60_000, live: ["ns/a", "ns/b"], attempts: [ok("ns/a"), fail("ns/b")] }),
  );
  equal(partial.status.phase, "PartiallyFailed");
  equal(partial.status.message, "not invalidated before the deadline: ns/b");
  equal(partial.status.completedAt, NOW);
  const none = nextStatus(facts({ elapsedMs: 60_000, live: ["ns/a"], attempts: [fail("ns/a")] }));
  equal(none.status.phase, "Failed");
  // before the deadline, the next pass is never later than the deadline
  const late = nextStatus(facts({ elapsedMs: 59_500, live: ["ns/a"], attempts: [fail("ns/a")] }));
  equal(late.retryAfterMs, 500);
});

Deno.test("failedStatus: terminal at once with the reason", () => {
  const status: InvalidationStatus = failedStatus(2, NOW, "bad hostname");
  equal(status.phase, "Failed");
  equal(status.observedGeneration, 2);
  equal(status.message, "bad hostname");
  equal(isTerminal("Running"), false);
  // a running invalidation whose Gateway stopped serving the hostname keeps what it did
  const running = nextStatus(facts({ live: ["ns/a", "ns/b"], attempts: [ok("ns/a"), fail("ns/b")] })).status;
  const later = failedStatus(1, "2026-01-01T00:01:00Z", "no Gateway", running);
  deepEqual([later.phase, later.startedAt, later.succeeded, later.pods], ["Failed", NOW, 1, running.pods]);
  equal(isTerminal(undefined), false);
});

Deno.test("pendingStatus: nothing sent yet (no startedAt, no pods), optionally why it waits; the next pass starts it", () => {
  deepEqual(pendingStatus(3), { phase: "Pending", observedGeneration: 3, total: 0, succeeded: 0, pods: [] });
  equal(pendingStatus(1, "waiting for a Gateway").message, "waiting for a Gateway");
  equal(isTerminal("Pending"), false);
  deepEqual(podsToAttempt(pendingStatus(1), ["ns/b", "ns/a"]), ["ns/a", "ns/b"]);
  const { status } = nextStatus(facts({ previous: pendingStatus(1), live: ["ns/a"], attempts: [ok("ns/a")] }));
  deepEqual([status.phase, status.startedAt, status.total], ["Complete", NOW, 1]);
});
