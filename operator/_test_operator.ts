/**
 * Test helpers for the operator tests that run `lacquer operator` against the local cluster's API server: a
 * GatewayClass of our controller, and an operator process restricted to it with a no-op gateway image.
 *
 * @module
 */
import type { KubeClient } from "../internal/kube/mod.ts";
import { CONTROLLER_NAME } from "../internal/names.ts";
import { freePort, PAUSE_IMAGE } from "../tests/cluster/mod.ts";
import type { LoggedProcess } from "../tests/cluster/spawn_logged.ts";
import { startOperatorProcess } from "../tests/stack/operator_process.ts";

/** The Gateway API group's path prefix. */
export const GW = "/apis/gateway.networking.k8s.io/v1";

/**
 * Creates a GatewayClass of our controller.
 *
 * @param client A client of the test cluster.
 * @param name The class name (tests use one per namespace, so operators of parallel tests stay apart).
 */
export async function createGatewayClass(client: KubeClient, name: string): Promise<void> {
  await client.request(`${GW}/gatewayclasses`, {
    method: "POST",
    body: {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GatewayClass",
      metadata: { name },
      spec: { controllerName: CONTROLLER_NAME },
    },
  });
}

/** Options for {@linkcode startTestOperator}. */
export interface TestOperatorOptions {
  /** The kubeconfig the operator uses. */
  kubeconfig: string;
  /** The namespace of its leader-election Lease. */
  leaseNamespace: string;
  /** The only GatewayClass it serves. */
  gatewayClass: string;
  /** Extra environment, e.g. `DENO_V8_FLAGS`. @default {{}} */
  env?: Record<string, string>;
}

/** A running test operator. */
export interface TestOperator {
  /** The process; it exits 0 on SIGTERM. */
  process: LoggedProcess;
  /** Its JSON log lines (a temporary file the caller removes). */
  logFile: string;
  /** Its Prometheus metrics. */
  metricsUrl: string;
}

/**
 * Starts `lacquer operator` with leader election, restricted to one GatewayClass. Gateway pods run the pause image,
 * a no-op, so they never become ready: the tests are about the operator's writes, and may stand in for the chaperone
 * with a pod of their own.
 *
 * @param options Kubeconfig, Lease namespace, class and environment.
 * @returns The process, its log file and metrics address.
 */
export async function startTestOperator(options: TestOperatorOptions): Promise<TestOperator> {
  const port = freePort(2); // metrics, and health on port + 1
  const logFile = await Deno.makeTempFile({ prefix: "operator-", suffix: ".log" });
  const process = startOperatorProcess({
    kubeconfig: options.kubeconfig,
    logFile,
    logLevel: "debug",
    port,
    args: [
      "--leader-elect",
      "--lease-namespace",
      options.leaseNamespace,
      "--gateway-image",
      PAUSE_IMAGE,
      "--gateway-class",
      options.gatewayClass,
    ],
    env: options.env,
  });
  return { process, logFile, metricsUrl: `http://127.0.0.1:${port}/metrics` };
}
