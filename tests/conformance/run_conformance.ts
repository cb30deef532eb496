/**
 * `deno task conformance`: runs the upstream Gateway API conformance suite (v1.6.1, GATEWAY-HTTP profile) against
 * Lacquer on a fresh local cluster, with the features our GatewayClass advertises in its status, and prints the
 * passed, failed and skipped tests. It exits 0 only when the suite itself exited 0, no test failed and the report
 * says core and extended tests succeeded (`judge_run.ts`). A whole run removes
 * `tests/conformance/report.yaml` (`report-real-node.yaml` on the real node) first and writes the suite's report there once the suite finished (also a failing
 * one), so a crashed, timed-out or killed run leaves no report rather than the one of an earlier run. The logs of a failed run are kept in
 * `/tmp/lacquer/failed-<cluster>/`.
 *
 * Flags: `--run-test <Name>` runs one test (its report stays in the cluster's log directory);
 * `--keep` leaves the cluster and operator running afterwards for debugging (`LACQUER_CLUSTER=conform deno task
 * cluster kubectl ...`); `--channel standard` installs the standard CRDs instead of the experimental ones (the
 * default, because HTTPRoute's `retry`, which the HTTPRouteRetry test applies, exists only there); `--debug` turns on the suite's
 * debug output; `--cluster <name>` names the cluster (default `conform`). `LACQUER_NODE=real` runs it on the real
 * node (containerd, the upstream kubelet, kube-proxy and CoreDNS) and writes `report-real-node.yaml` instead.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { LACQUER_VERSION } from "../../internal/version.ts";
import { startLacquerStack } from "../stack/lacquer_stack.ts";
import { buildConformanceSuite } from "./build_suite.ts";
import { conformanceProblems } from "./judge_run.ts";
import { formatResults, summarizeResults } from "./summarize_results.ts";
import { lacquerCacheDir, LB_POOL_PREFIX, type NodeMode, parseNodeMode } from "../cluster/layout.ts";

/** The committed report of the last whole run on each node (`LACQUER_NODE`). */
/** What the real node's report says first: the two reports are otherwise the suite's own and alike. */
const REPORT_HEADERS: Record<NodeMode, string> = {
  process: "",
  real: "# `LACQUER_NODE=real deno task conformance`: the suite against the real node (containerd 2, the upstream\n" +
    "# kubelet, kube-proxy and CoreDNS; gateway pods from the lacquer-gateway image, the operator from this checkout).\n",
};

const REPORTS: Record<NodeMode, string> = {
  process: new URL("./report.yaml", import.meta.url).pathname,
  real: new URL("./report-real-node.yaml", import.meta.url).pathname,
};

/**
 * Runs a program inside the cluster's network namespace, copying its output (stderr merged) to the terminal and to
 * a file as it comes.
 *
 * @returns The program's exit status.
 */
async function runTeed(netns: string, kubeconfig: string, command: string[], outputFile: string): Promise<number> {
  const child = new Deno.Command("nsenter", {
    args: [`--net=/run/netns/${netns}`, "--", "sh", "-c", 'exec "$0" "$@" 2>&1', ...command],
    env: { KUBECONFIG: kubeconfig },
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  using file = await Deno.open(outputFile, { write: true, create: true, truncate: true });
  for await (const chunk of child.stdout) {
    await Deno.stdout.write(chunk);
    await file.write(chunk);
  }
  return (await child.status).code;
}

/** Writes a file whole or not at all: a temporary file beside it, then a rename. */
async function replaceFile(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(`${path}.tmp`, text);
  await Deno.rename(`${path}.tmp`, path);
}

/** Copies a failed run's logs where they outlive the cluster. */
async function keepLogs(logDir: string, keep: string): Promise<void> {
  await Deno.remove(keep, { recursive: true }).catch(() => {});
  const out = await new Deno.Command("cp", { args: ["-r", logDir, keep] }).output();
  if (out.code === 0) console.error(`[conformance] logs of the failed run kept in ${keep}`);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "run-test": { type: "string" },
      keep: { type: "boolean", default: false },
      channel: { type: "string", default: "experimental" },
      debug: { type: "boolean", default: false },
      cluster: { type: "string", default: "conform" },
    },
  });
  if (values.channel !== "standard" && values.channel !== "experimental") {
    console.error(`conformance: --channel must be "standard" or "experimental", not "${values.channel}"`);
    return 2;
  }
  const cache = lacquerCacheDir(Deno.env);
  const suite = await buildConformanceSuite(cache);
  const node = parseNodeMode(Deno.env.get("LACQUER_NODE"));
  const reportPath = REPORTS[node];
  const stack = await startLacquerStack({ cluster: values.cluster, channel: values.channel, logLevel: "debug", node });
  let passed = false;
  try {
    const single = values["run-test"];
    // the suite writes its report into the state directory; only a whole, finished run replaces the committed one
    const written = `${stack.layout.logDir}/report.yaml`;
    const args = [
      "-test.v",
      "-test.timeout=120m",
      "-test.run=^TestConformance$",
      "--gateway-class=lacquer",
      "--conformance-profiles=GATEWAY-HTTP",
      "--organization=lacquer",
      "--project=lacquer",
      "--url=https://lacquer.dev",
      `--version=v${LACQUER_VERSION}`,
      "--contact=@lacquer/maintainers",
      `--report-output=${written}`,
      `--debug=${values.debug}`,
      // GatewayStaticAddresses: a free address of the local load balancer's pool, and one outside it
      `--usable-address=${LB_POOL_PREFIX}200`,
      "--unusable-address=192.0.2.1",
      ...(single ? [`--run-test=${single}`] : []),
    ];
    const outputFile = `${stack.layout.logDir}/conformance.out`;
    console.error(`[conformance] running the suite (output: ${outputFile})`);
    const started = performance.now();
    // a run killed half-way must not leave the report of an earlier run behind
    if (!single) await Deno.remove(reportPath).catch(() => {});
    const exitCode = await runTeed(stack.layout.netns, stack.layout.kubeconfig, [suite, ...args], outputFile);
    const results = summarizeResults(await Deno.readTextFile(outputFile));
    const report = await Deno.readTextFile(written).catch(() => undefined);
    const problems = conformanceProblems({ exitCode, results, report });
    passed = problems.length === 0;
    console.log(formatResults(results));
    const seconds = Math.round((performance.now() - started) / 1000);
    if (!single) {
      if (report !== undefined) await replaceFile(reportPath, REPORT_HEADERS[node] + report);
      console.log(
        report !== undefined ? `conformance: report ${reportPath}` : `conformance: no report, ${reportPath} removed`,
      );
    }
    for (const problem of problems) console.log(`conformance: FAILED: ${problem}`);
    console.log(`conformance: ${passed ? "PASSED" : "FAILED"} in ${seconds} s`);
    return passed ? 0 : 1;
  } finally {
    if (values.keep) {
      console.error(
        `[conformance] left running: LACQUER_CLUSTER=${values.cluster} deno task cluster kubectl get gateways -A`,
      );
    } else {
      if (!passed) await keepLogs(stack.layout.logDir, `/tmp/lacquer/failed-${values.cluster}`);
      await stack.stop();
    }
  }
}

if (import.meta.main) Deno.exit(await main());
