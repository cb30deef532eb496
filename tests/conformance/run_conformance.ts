/**
 * `deno task conformance`: runs the upstream Gateway API conformance suite (v1.6.1, GATEWAY-HTTP profile) against
 * Lacquer on a fresh local cluster, with the features our GatewayClass advertises in its status, and prints the
 * passed, failed and skipped tests. It exits 0 only when the suite itself exited 0, no test failed and the report
 * says core and extended tests succeeded (`judge_run.ts`). The cluster runs the real node (containerd, the upstream
 * kubelet, kube-proxy and CoreDNS) and Lacquer is installed as users install it, with `helm install` of the chart:
 * operator and gateway pods from their images. A whole run removes `tests/conformance/report.yaml` first and writes
 * the suite's report there once the suite finished (also a failing one), so a crashed, timed-out or killed run leaves
 * no report rather than the one of an earlier run. The logs of a failed run are kept in `/tmp/lacquer/failed-<cluster>/`.
 *
 * Flags: `--run-test <Name>` runs one test, `--run-tests <regexp>` the tests whose names match (e.g. `^ListenerSet`;
 * either way the report stays in the cluster's log directory);
 * `--keep` leaves the cluster and operator running afterwards for debugging (`LACQUER_CLUSTER=conform deno task
 * cluster kubectl ...`); `--channel standard` installs the standard CRDs instead of the experimental ones (the
 * default, because HTTPRoute's `retry`, which the HTTPRouteRetry test applies, exists only there); `--debug` turns on the suite's
 * debug output; `--cluster <name>` names the cluster (default `conform`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { LACQUER_VERSION } from "../../internal/version.ts";
import { startLacquerStack } from "../stack/lacquer_stack.ts";
import { buildConformanceSuite } from "./build_suite.ts";
import { conformanceProblems } from "./judge_run.ts";
import { formatResults, summarizeResults } from "./summarize_results.ts";
import { keepClusterLogs } from "../cluster/cluster_control.ts";
import { lacquerCacheDir, LB_POOL_PREFIX } from "../cluster/layout.ts";

/** The committed report of the last whole run. */
const REPORT = new URL("./report.yaml", import.meta.url).pathname;

/** What the report says first, how it was made; the rest is the suite's own. */
const REPORT_HEADER =
  "# `deno task conformance`: the suite against the real node (containerd 2, the upstream kubelet,\n" +
  "# kube-proxy and CoreDNS), Lacquer installed by `helm install` of the chart: operator and gateway pods from their images.\n";

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

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "run-test": { type: "string" },
      "run-tests": { type: "string" },
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
  const stack = await startLacquerStack({
    cluster: values.cluster,
    channel: values.channel,
    logLevel: "debug",
    // GatewayHTTPSListenerDetectMisdirectedRequests sends every request over HTTP/2, which is off by default.
    values: ["gatewayClass.parameters.http2=true"],
  });
  let passed = false;
  try {
    // one test, or the tests whose names match a regular expression: either way the committed report stays
    const single = values["run-test"] ?? values["run-tests"];
    // the suite writes its report into the state directory; only a whole, finished run replaces the committed one
    const written = `${stack.layout.logDir}/report.yaml`;
    const args = [
      "-test.v",
      "-test.timeout=120m",
      `-test.run=^TestConformance$${values["run-tests"] ? `/${values["run-tests"]}` : ""}`,
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
      ...(values["run-test"] ? [`--run-test=${values["run-test"]}`] : []),
    ];
    const outputFile = `${stack.layout.logDir}/conformance.out`;
    console.error(`[conformance] running the suite (output: ${outputFile})`);
    const started = performance.now();
    // a run killed half-way must not leave the report of an earlier run behind
    if (!single) await Deno.remove(REPORT).catch(() => {});
    const exitCode = await runTeed(stack.layout.netns, stack.layout.kubeconfig, [suite, ...args], outputFile);
    const results = summarizeResults(await Deno.readTextFile(outputFile));
    const report = await Deno.readTextFile(written).catch(() => undefined);
    const problems = conformanceProblems({ exitCode, results, report });
    passed = problems.length === 0;
    console.log(formatResults(results));
    const seconds = Math.round((performance.now() - started) / 1000);
    if (!single) {
      if (report !== undefined) await replaceFile(REPORT, REPORT_HEADER + report);
      console.log(
        report !== undefined ? `conformance: report ${REPORT}` : `conformance: no report, ${REPORT} removed`,
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
      if (!passed) {
        const keep = `/tmp/lacquer/failed-${values.cluster}`;
        await keepClusterLogs(stack.layout, keep);
        console.error(`[conformance] logs of the failed run kept in ${keep} (pod logs in pods/)`);
      }
      await stack.stop();
    }
  }
}

if (import.meta.main) Deno.exit(await main());
