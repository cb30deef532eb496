import { equal, match, throws } from "node:assert/strict";
import { parseMirrorStats, renderMirrorMetrics } from "./mirror_metrics.ts";

const STATS = { sent: 7, failed: 2, droppedQueueFull: 5, droppedBody: 1, droppedUnavailable: 3, queued: 4 };

Deno.test("parseMirrorStats() reads ghost's mirror counters, and none from a VMOD without them", () => {
  equal(parseMirrorStats(JSON.stringify({ status: "ok", rules: [], mirrors: STATS }))?.droppedQueueFull, 5);
  equal(parseMirrorStats('{"status":"ok","rules":[]}'), undefined);
  throws(() => parseMirrorStats('{"mirrors": {"sent": -1}}'));
});

Deno.test("renderMirrorMetrics() writes one series per result and the queue gauge, nothing without counters", () => {
  const text = renderMirrorMetrics(STATS);
  match(text, /^lacquer_mirror_requests_total\{result="sent"\} 7$/m);
  match(text, /^lacquer_mirror_requests_total\{result="failed"\} 2$/m);
  match(text, /^lacquer_mirror_requests_total\{result="dropped_queue_full"\} 5$/m);
  match(text, /^lacquer_mirror_requests_total\{result="dropped_body"\} 1$/m);
  match(text, /^lacquer_mirror_requests_total\{result="dropped_unavailable"\} 3$/m);
  match(text, /^lacquer_mirror_queued 4$/m);
  equal(text.split("\n").filter((l) => l.startsWith("lacquer_mirror_")).length, 6);
  equal(renderMirrorMetrics(undefined), "");
});
