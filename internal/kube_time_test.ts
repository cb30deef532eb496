import { equal } from "node:assert/strict";
import { kubeTime } from "./kube_time.ts";

Deno.test("kubeTime() drops the milliseconds and keeps UTC", () => {
  equal(kubeTime(new Date("2026-01-02T03:04:05.678Z")), "2026-01-02T03:04:05Z");
  equal(kubeTime(new Date(Date.UTC(2026, 0, 1))), "2026-01-01T00:00:00Z");
});
