/**
 * A small Prometheus metrics registry: counters, gauges (set or computed on scrape) and histograms, rendered in
 * the text exposition format (version 0.0.4).
 *
 * @module
 */

type Labels = Record<string, string>;

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  return `{${
    entries.map(([k, v]) => `${k}="${v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")}"`).join(
      ",",
    )
  }}`;
}

/** Escapes a HELP text as the text format requires (backslash and newline). */
function escapeHelp(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  render(): string[];
}

/** A counter family. */
export class Counter {
  #values = new Map<string, { labels: Labels; value: number }>();
  /** Creates the counter (use {@linkcode MetricsRegistry.counter}). */
  constructor(readonly name: string) {}
  /** Adds `by` (default 1) to the series with these labels. */
  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    const entry = this.#values.get(key) ?? { labels, value: 0 };
    entry.value += by;
    this.#values.set(key, entry);
  }
  /** Returns the current value of a series. */
  get(labels: Labels = {}): number {
    return this.#values.get(labelText(labels))?.value ?? 0;
  }
  /** Renders the samples. */
  render(): string[] {
    return [...this.#values.values()].map((e) => `${this.name}${labelText(e.labels)} ${e.value}`);
  }
}

/** A gauge family, set directly or computed at scrape time. */
export class Gauge {
  #values = new Map<string, { labels: Labels; value: number }>();
  /** Creates the gauge (use {@linkcode MetricsRegistry.gauge}). */
  constructor(readonly name: string, readonly collect?: () => { labels?: Labels; value: number }[]) {}
  /** Sets the series with these labels. */
  set(value: number, labels: Labels = {}): void {
    this.#values.set(labelText(labels), { labels, value });
  }
  /** Renders the samples. */
  render(): string[] {
    const values = this.collect
      ? this.collect().map((s) => ({ labels: s.labels ?? {}, value: s.value }))
      : [...this.#values.values()];
    return values.map((e) => `${this.name}${labelText(e.labels)} ${e.value}`);
  }
}

/** A histogram family. */
export class Histogram {
  #series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  /** Creates the histogram (use {@linkcode MetricsRegistry.histogram}). */
  constructor(readonly name: string, readonly buckets: readonly number[]) {}
  /** Records one observation. */
  observe(value: number, labels: Labels = {}): void {
    const key = labelText(labels);
    const s = this.#series.get(key) ?? { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
    this.buckets.forEach((b, i) => {
      if (value <= b) s.counts[i]++;
    });
    s.sum += value;
    s.count++;
    this.#series.set(key, s);
  }
  /** Renders the samples. */
  render(): string[] {
    const out: string[] = [];
    for (const s of this.#series.values()) {
      this.buckets.forEach((b, i) =>
        out.push(`${this.name}_bucket${labelText({ ...s.labels, le: String(b) })} ${s.counts[i]}`)
      );
      out.push(`${this.name}_bucket${labelText({ ...s.labels, le: "+Inf" })} ${s.count}`);
      out.push(`${this.name}_sum${labelText(s.labels)} ${s.sum}`);
      out.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return out;
  }
}

/** Holds metric families and renders them. */
export class MetricsRegistry {
  #families: Family[] = [];

  /** Registers a counter. */
  counter(name: string, help: string): Counter {
    const c = new Counter(name);
    this.#families.push({ name, help, type: "counter", render: () => c.render() });
    return c;
  }

  /** Registers a gauge; `collect` computes its samples at scrape time. */
  gauge(name: string, help: string, collect?: () => { labels?: Labels; value: number }[]): Gauge {
    const g = new Gauge(name, collect);
    this.#families.push({ name, help, type: "gauge", render: () => g.render() });
    return g;
  }

  /** Registers a histogram with upper bucket bounds. */
  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    const h = new Histogram(name, buckets);
    this.#families.push({ name, help, type: "histogram", render: () => h.render() });
    return h;
  }

  /**
   * Renders every family in the Prometheus text format.
   *
   * @example Usage
   * ```ts
   * import { MetricsRegistry } from "./metrics.ts";
   * const registry = new MetricsRegistry();
   * registry.counter("lacquer_things_total", "Things.").inc();
   * registry.render(); // "# HELP lacquer_things_total Things.\n# TYPE ..."
   * ```
   *
   * @returns The exposition text.
   */
  render(): string {
    const lines: string[] = [];
    for (const f of this.#families) {
      lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`, ...f.render());
    }
    return lines.join("\n") + "\n";
  }
}
