/**
 * `deno task demo`: a local cluster with Lacquer serving real traffic. Starts the cluster `lacquer` on the real node
 * (containerd and the upstream kubelet running the images set-up built), installs Lacquer with `helm install` of
 * deploy/helm/lacquer (the operator in-cluster from its image, gateway pods from theirs), deploys
 * deploy/demo/demo.yaml (an echo app in two versions, a Gateway, an HTTPRoute with a path rule and an 80/20 weighted
 * split), waits until the Gateway is Programmed, sends requests through it and prints which pods answered, then stays
 * up until Ctrl-C and shuts everything down cleanly.
 *
 * `--check` stops after the traffic and exits 1 unless every request was answered, `/` reached both versions and
 * `/green` only green (the demo's end-to-end check); `--cluster <name>` names the cluster (default `lacquer`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { startLacquerStack } from "../tests/stack/lacquer_stack.ts";
import { splitProblems } from "./demo_check.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const HOST = "demo.example.com";
const REQUESTS = 50;

/** Sends `count` requests for `path` through the gateway and counts the answering pods (from echo's JSON). */
async function tally(
  exec: (program: string, args: string[]) => Promise<{ stdout: string }>,
  options: { address: string; path: string; count: number },
): Promise<Map<string, number>> {
  const url = `http://${options.address}${options.path}`;
  const script = `for i in $(seq ${options.count}); do curl -s --max-time 5 -H 'Host: ${HOST}' '${url}'; echo; done`;
  const out = await exec("sh", ["-c", script]);
  const counts = new Map<string, number>();
  for (const match of out.stdout.matchAll(/"pod":\s*"([^"]*)"/g)) counts.set(match[1], (counts.get(match[1]) ?? 0) + 1);
  return counts;
}

/** Polls the gateway's address until it answers 200, for up to 30 s. */
async function firstAnswer(
  exec: (program: string, args: string[]) => Promise<{ stdout: string }>,
  address: string,
): Promise<void> {
  const deadline = Date.now() + 30_000;
  const probe = ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2", "-H", `Host: ${HOST}`];
  while ((await exec("curl", [...probe, `http://${address}/`])).stdout !== "200") {
    if (Date.now() > deadline) throw new Error(`http://${address}/ did not answer 200 within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { check: { type: "boolean", default: false }, cluster: { type: "string", default: "lacquer" } },
  });
  const stack = await startLacquerStack({ cluster: values.cluster }).catch((err) => {
    console.error(`[demo] failed to install: ${err instanceof Error ? err.message : err}`);
    return undefined;
  });
  if (!stack) return 1;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.error("\n[demo] stopping: operator, gateway pods and cluster");
    await stack.stop();
    console.error("[demo] stopped; nothing is left running");
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  try {
    console.error("[demo] deploying the echo app (blue and green), Gateway demo/demo and HTTPRoute demo/echo");
    await stack.kubectl(["apply", "-f", `${ROOT}deploy/demo/demo.yaml`]);
    await stack.kubectl(["-n", "demo", "rollout", "status", "deploy/echo-blue", "deploy/echo-green", "--timeout=120s"]);
    console.error("[demo] waiting for the Gateway to be Programmed (its pods have applied the configuration)");
    await stack.kubectl(["-n", "demo", "wait", "--for=condition=Programmed", "gateway/demo", "--timeout=180s"]);
    const address = (await stack.kubectl([
      "-n",
      "demo",
      "get",
      "gateway/demo",
      "-o",
      "jsonpath={.status.addresses[0].value}",
    ])).trim();
    console.error(`[demo] Gateway demo/demo is Programmed at ${address}`);
    // Programmed means the pods serve the configuration; the Service proxy follows their endpoints a moment later
    console.error(`[demo] waiting for the first answer through ${address}`);
    await firstAnswer(stack.exec, address);

    const problems: string[] = [];
    for (const path of ["/", "/green"] as const) {
      const counts = await tally(stack.exec, { address, path, count: REQUESTS });
      console.log(`\n${REQUESTS} requests to http://${HOST}${path} via ${address}:`);
      for (const [pod, n] of [...counts].sort()) console.log(`  ${String(n).padStart(3)}  answered by ${pod}`);
      const failed = REQUESTS - [...counts.values()].reduce((a, b) => a + b, 0);
      if (failed > 0) console.log(`  ${String(failed).padStart(3)}  failed`);
      problems.push(...splitProblems(path, counts, REQUESTS));
    }
    if (values.check) {
      for (const problem of problems) console.log(`demo: FAILED: ${problem}`);
      console.log(`demo: ${problems.length === 0 ? "PASSED" : "FAILED"}`);
      await stack.stop();
      return problems.length === 0 ? 0 : 1;
    }

    console.log(`
Lacquer is serving. Try it (the cluster lives in the network namespace "${stack.layout.netns}"):
  deno task cluster curl -si -H 'Host: ${HOST}' http://${address}/green
  deno task cluster kubectl -n demo get gateway,httproute,pods
  deno task cluster kubectl -n demo logs deploy/demo
  edit the route:  deno task cluster kubectl -n demo edit httproute echo
Operator log: ${stack.operatorLog}
Press Ctrl-C to stop everything.`);
    await new Promise(() => {});
    return 0;
  } catch (err) {
    console.error(
      `[demo] failed: ${err instanceof Error ? err.message : err}\n[demo] operator log: ${stack.operatorLog}`,
    );
    await stack.stop();
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main());
