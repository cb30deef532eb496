import { deepEqual, equal } from "node:assert/strict";
import { classifyAnswer } from "./answer_check.ts";

Deno.test("an answer from a pod of a selected app is ok, whichever of the selected apps", () => {
  deepEqual(classifyAnswer(200, '{"pod":"blue-6b8c9d-q7x2z","namespace":"t"}', ["blue"]), { outcome: "ok" });
  deepEqual(classifyAnswer(200, '{"pod":"green-6b8c9d-q7x2z"}', ["blue", "green"]), { outcome: "ok" });
});

Deno.test("a 200 from another app, from an app whose name only starts alike, or naming no pod is misrouted", () => {
  equal(classifyAnswer(200, '{"pod":"green-6b8c9d-q7x2z"}', ["blue"]).outcome, "misrouted");
  equal(classifyAnswer(200, '{"pod":"bluegreen-6b8c9d-q7x2z"}', ["blue"]).outcome, "misrouted");
  equal(classifyAnswer(200, "<html>welcome</html>", ["blue"]).outcome, "misrouted");
  equal(classifyAnswer(200, '{"path":"/blue"}', ["blue"]).outcome, "misrouted");
});

Deno.test("any other status failed, whatever the body says", () => {
  const r = classifyAnswer(503, '{"pod":"blue-6b8c9d-q7x2z"}', ["blue"]);
  equal(r.outcome, "failed");
  equal(r.detail, 'HTTP 503: {"pod":"blue-6b8c9d-q7x2z"}');
  equal(classifyAnswer(404, "", ["blue"]).outcome, "failed");
});
