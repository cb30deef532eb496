/**
 * `deno task conformance`: runs the upstream Gateway API conformance suite (v1.6.1, GATEWAY-HTTP profile) against
 * Lacquer on a fresh local cluster, with the features our GatewayClass advertises in its status, writes the report
 * to `conformance/report.yaml` and prints the passed, failed and skipped tests.
 *
 * Flags: `--run-test <Name>` runs one test (report written under the cluster's state directory instead);
 * `--keep` leaves the cluster and operator running afterwards for debugging (`LACQUER_CLUSTER=conform deno task
 * cluster kubectl ...`); `--channel experimental` installs the experimental CRDs; `--debug` turns on the suite's
 * debug output; `--cluster <name>` names the cluster (default `conform`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { LACQUER_VERSION } from "../../internal/version.ts";
import { startLacquerStack } from "../stack/lacquer_stack.ts";
import { buildConformanceSuite } from "./build_suite.ts";
import { formatResults, summarizeResults } from "./summarize_results.ts";
import { lacquerCacheDir } from "../cluster/layout.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "run-test": { type: "string" },
      keep: { type: "boolean", default: false },
      channel: { type: "string", default: "standard" },
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
  const stack = await startLacquerStack({ cluster: values.cluster, channel: values.channel, logLevel: "debug" });
  try {
    const single = values["run-test"];
    const report = single ? `${stack.layout.dir}/report.yaml` : `${ROOT}conformance/report.yaml`;
    await Deno.mkdir(report.slice(0, report.lastIndexOf("/")), { recursive: true });
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
      `--report-output=${report}`,
      `--debug=${values.debug}`,
      ...(single ? [`--run-test=${single}`] : []),
    ];
    const outputFile = `${stack.layout.logDir}/conformance.out`;
    console.error(`[conformance] running the suite (output: ${outputFile})`);
    const started = performance.now();
    // tee the suite's output to the terminal and the file, so the results can be summarised afterwards
    const child = new Deno.Command("nsenter", {
      args: [
        "--net=/run/netns/" + stack.layout.netns,
        "--",
        "sh",
        "-c",
        `"$0" "$@" 2>&1 | tee "${outputFile}"`,
        suite,
        ...args,
      ],
      env: { KUBECONFIG: stack.layout.kubeconfig },
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    await child.status;
    const results = summarizeResults(await Deno.readTextFile(outputFile));
    console.log(formatResults(results));
    console.log(`conformance: report ${report}; took ${Math.round((performance.now() - started) / 1000)} s`);
    return results.failed.length === 0 && results.passed.length > 0 ? 0 : 1;
  } finally {
    if (values.keep) {
      console.error(
        `[conformance] left running: LACQUER_CLUSTER=${values.cluster} deno task cluster kubectl get gateways -A`,
      );
    } else {
      await stack.stop();
    }
  }
}

if (import.meta.main) Deno.exit(await main());
