import { equal } from "node:assert/strict";
import { MetricsRegistry } from "./metrics.ts";

Deno.test("MetricsRegistry.render() writes counters, gauges and histograms in the text format", () => {
  const registry = new MetricsRegistry();
  registry.counter("a_total", "A.").inc({ result: "ok" }, 2);
  registry.gauge("b", "B.", () => [{ value: 3 }]);
  const h = registry.histogram("c_seconds", "C.", [0.1, 1]);
  h.observe(0.5);
  equal(
    registry.render(),
    [
      "# HELP a_total A.",
      "# TYPE a_total counter",
      'a_total{result="ok"} 2',
      "# HELP b B.",
      "# TYPE b gauge",
      "b 3",
      "# HELP c_seconds C.",
      "# TYPE c_seconds histogram",
      'c_seconds_bucket{le="0.1"} 0',
      'c_seconds_bucket{le="1"} 1',
      'c_seconds_bucket{le="+Inf"} 1',
      "c_seconds_sum 0.5",
      "c_seconds_count 1",
      "",
    ].join("\n"),
  );
});

Deno.test("MetricsRegistry escapes backslashes and newlines in HELP texts", () => {
  const registry = new MetricsRegistry();
  registry.gauge("x", "a \\ b\nc").set(1);
  equal(registry.render(), "# HELP x a \\\\ b\\nc\n# TYPE x gauge\nx 1\n");
});
