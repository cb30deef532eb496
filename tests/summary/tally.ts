/**
 * Counts the results of the whole test command honestly, by kind: product tests, harness tests (tests of the local
 * test cluster, the conformance runner, this summary and the lint rules), documentation examples (JSDoc examples
 * run as tests: they type-check and run, but assert nothing), Rust tests, each varnishtest `.vtc` file, and the
 * conformance suite's tests; with ignored and skipped tests, and a failure for every step that stopped without
 * reporting one.
 *
 * @module
 */
import { XMLParser } from "fast-xml-parser";
import { summarizeResults } from "../conformance/summarize_results.ts";

/** Counts of one kind of test. */
export interface Tally {
  /** Tests that passed. */
  passed: number;
  /** Tests that failed. */
  failed: number;
  /** Tests that were ignored or skipped. */
  ignored: number;
  /** Sub-steps of the passed and failed tests (Deno's `t.step`), counted apart. */
  steps: number;
  /** What failed: a test's (or step's) name and, where its output tells, why (`name: reason`). */
  failures: string[];
}

/** Everything one run of the test command left behind; `undefined` for what a step did not write. */
export interface RunOutputs {
  /** `deno test --junit-path` output of the TypeScript tests. */
  denoJunit: string | undefined;
  /** The output of `cargo test --workspace`. */
  cargoLog: string | undefined;
  /** The varnishtest runner's `VTC_RESULTS` file: `<file> passed|failed|skipped` per line. */
  vtcResults: string | undefined;
  /** The output of the conformance runner. */
  conformanceLog: string | undefined;
  /** Each step's exit status, by step name (`typescript`, `rust`, `conformance`). */
  status: Record<string, number>;
}

/** One line of the summary: a kind of test and its counts. */
export interface SummaryLine {
  /** What was counted, e.g. `product tests`. */
  kind: string;
  /** The counts. */
  tally: Tally;
  /** Why a step counts as failed although it reported no failed test. */
  note?: string;
}

/** The Rust test that runs the varnishtest suite; each `.vtc` file is counted instead. */
const VTC_RUNNER = "varnishtest_suite_passes";
/** Test files of the test infrastructure rather than of the product. */
const HARNESS = /^\.\/(tests\/(cluster|conformance|summary|stack)\/|scripts\/)/;
/** Deno names a documentation example's test after its file and lines: `./a/b.ts#26-31.ts`. */
const DOC_EXAMPLE = /#\d+-\d+\.[jt]sx?$/;

const empty = (): Tally => ({ passed: 0, failed: 0, ignored: 0, steps: 0, failures: [] });
/** At most this many failures are listed; the rest are counted. */
const MAX_LISTED = 30;

interface JunitFailure {
  message?: string;
}

interface JunitCase {
  name: string;
  failure?: JunitFailure | string;
  error?: JunitFailure | string;
  skipped?: unknown;
}

/** A failure's one-line reason: its message, or its text's first line. */
function reason(failure: JunitFailure | string): string {
  const text = typeof failure === "string" ? failure : failure.message ?? "";
  return text.split("\n")[0].trim();
}

/**
 * Tallies `deno test --junit-path` output by kind of test file.
 *
 * @example Usage
 * ```ts
 * import { tallyDenoJunit } from "./tally.ts";
 * const xml = `<testsuites><testsuite name="./a_test.ts"><testcase name="t"></testcase></testsuite></testsuites>`;
 * tallyDenoJunit(xml).product.passed; // 1
 * ```
 *
 * @param xml The JUnit XML text.
 * @returns Counts of product tests, harness tests and documentation examples.
 */
export function tallyDenoJunit(xml: string): { product: Tally; harness: Tally; docExamples: Tally } {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "",
    isArray: (name) => name === "testsuite" || name === "testcase",
  });
  const doc = parser.parse(xml) as { testsuites?: { testsuite?: { name: string; testcase?: JunitCase[] }[] } };
  const tallies = { product: empty(), harness: empty(), docExamples: empty() };
  for (const suite of doc.testsuites?.testsuite ?? []) {
    const tally = DOC_EXAMPLE.test(suite.name)
      ? tallies.docExamples
      : HARNESS.test(suite.name)
      ? tallies.harness
      : tallies.product;
    const cases = suite.testcase ?? [];
    const names = new Set(cases.map((c) => c.name));
    for (const c of cases) {
      // a step is named "<test> > <step>" after the test (or step) it belongs to
      const cut = c.name.lastIndexOf(" > ");
      const isStep = cut > 0 && names.has(c.name.slice(0, cut));
      const failure = c.failure ?? c.error;
      // a failed step is listed with its own reason; its test's "1 test step failed" tells nothing more
      if (failure !== undefined && !/^\d+ test steps? failed/.test(reason(failure))) {
        tally.failures.push(`${suite.name.replace(/^\.\//, "")} > ${c.name}: ${reason(failure)}`);
      }
      if (c.skipped !== undefined) tally.ignored++;
      else if (isStep) tally.steps++;
      else if (failure !== undefined) tally.failed++;
      else tally.passed++;
    }
  }
  return tallies;
}

/**
 * Tallies `cargo test` output from its per-test lines (`test <name> ... ok|FAILED|ignored`), leaving out the test that
 * runs varnishtest (each `.vtc` file counts instead). A failed test is listed with the first line of its panic.
 *
 * @param log The output of `cargo test`.
 * @returns The counts.
 */
export function tallyCargo(log: string): Tally {
  const tally = empty();
  const panics = new Map<string, string>();
  // Rust 1.92 and later name the thread's id after its name: `thread 'x' (20771) panicked at`.
  for (const m of log.matchAll(/^thread '(.+?)'(?: \(\d+\))? panicked at (.+?):\n(.*)$/gm)) {
    panics.set(m[1], `${m[3]} (${m[2]})`);
  }
  for (const m of log.matchAll(/^test (.+?) \.\.\. (ok|FAILED|ignored)/gm)) {
    if (m[1] === VTC_RUNNER || m[1].endsWith(`::${VTC_RUNNER}`)) continue;
    if (m[2] === "ok") tally.passed++;
    else if (m[2] === "FAILED") {
      tally.failed++;
      tally.failures.push(panics.has(m[1]) ? `${m[1]}: ${panics.get(m[1])}` : m[1]);
    } else tally.ignored++;
  }
  return tally;
}

/**
 * Tallies the varnishtest runner's per-file results.
 *
 * @param results Lines `<file> passed|failed|skipped`.
 * @returns The counts, one test per file.
 */
export function tallyVtc(results: string): Tally {
  const tally = empty();
  for (const line of results.split("\n")) {
    const outcome = line.trim().split(/\s+/)[1];
    if (outcome === "passed") tally.passed++;
    else if (outcome === "skipped") tally.ignored++;
    else if (outcome !== undefined) {
      tally.failed++;
      tally.failures.push(`${line.trim().split(/\s+/)[0]}: ${outcome}`);
    }
  }
  return tally;
}

/**
 * Builds the summary: one line per kind of test, each step that exited non-zero without a failed test counted as one
 * failure (it crashed, timed out or never ran its tests), and a closing total.
 *
 * @param run What the run left behind.
 * @returns The lines, in order.
 */
export function summarizeRun(run: RunOutputs): SummaryLine[] {
  const lines: SummaryLine[] = [];
  const deno = run.denoJunit === undefined ? undefined : tallyDenoJunit(run.denoJunit);
  const step = (name: string, kinds: [string, Tally | undefined][]) => {
    if (!(name in run.status)) return;
    const failed = kinds.reduce((n, [, t]) => n + (t?.failed ?? 0), 0);
    for (const [kind, tally] of kinds) if (tally) lines.push({ kind, tally });
    const code = run.status[name];
    if (code !== 0 && failed === 0) {
      const tally = { ...empty(), failed: 1 };
      lines.push({ kind: `${name} step`, tally, note: `exited ${code} without reporting a failed test` });
    }
  };
  step("typescript", [
    ["product tests", deno?.product],
    ["harness tests", deno?.harness],
    ["doc examples (no assertions)", deno?.docExamples],
  ]);
  const vtc = run.vtcResults === undefined ? undefined : tallyVtc(run.vtcResults);
  step("rust", [
    ["Rust tests", run.cargoLog === undefined ? undefined : tallyCargo(run.cargoLog)],
    [".vtc files", vtc],
  ]);
  if (run.conformanceLog !== undefined) {
    const r = summarizeResults(run.conformanceLog);
    const tally = {
      passed: r.passed.length,
      failed: r.failed.length,
      ignored: r.skipped.length,
      steps: 0,
      failures: r.failed,
    };
    step("conformance", [["conformance tests", tally]]);
  } else {
    step("conformance", []);
  }
  return lines;
}

/**
 * Formats the summary lines, what failed (at most 30 lines, so that the end of a long log names it), and the closing
 * total `tests: N passed, N failed` (every kind counted once; steps apart).
 *
 * @param lines The summary lines.
 * @returns The text.
 */
export function formatSummary(lines: SummaryLine[]): string {
  const out = lines.map(({ kind, tally, note }) => {
    const steps = tally.steps > 0 ? ` (${tally.steps} steps)` : "";
    const counts = note ? note : `${tally.passed} passed${steps}, ${tally.failed} failed, ${tally.ignored} ignored`;
    return `  ${kind}: ${counts}`;
  });
  const failures = lines.flatMap(({ kind, tally }) => tally.failures.map((f) => `  FAILED ${kind}: ${f}`));
  out.push(...failures.slice(0, MAX_LISTED));
  if (failures.length > MAX_LISTED) out.push(`  ... and ${failures.length - MAX_LISTED} more failures`);
  const total = lines.reduce((t, { tally }) => ({ passed: t.passed + tally.passed, failed: t.failed + tally.failed }), {
    passed: 0,
    failed: 0,
  });
  out.push(`tests: ${total.passed} passed, ${total.failed} failed`);
  return out.join("\n");
}
