/**
 * `lacquer status`: reads what Lacquer reports from the live cluster and prints the one-screen summary.
 *
 * @module
 */
import { ClusterError, clusterError, connectCluster, listAll } from "./cluster_objects.ts";
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from "../internal/names.ts";
import type { StatusConfig } from "./options.ts";
import { formatStatusTable, type ListedObject, type StatusInput, summarizeStatus } from "./status.ts";
import { formatOutput, type ToolOutput } from "./run_render.ts";

const MANAGED = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;

const READS: { field: keyof StatusInput; path: string; labelSelector?: string; optional?: boolean }[] = [
  { field: "gatewayClasses", path: "/apis/gateway.networking.k8s.io/v1/gatewayclasses" },
  { field: "gateways", path: "/apis/gateway.networking.k8s.io/v1/gateways" },
  { field: "httpRoutes", path: "/apis/gateway.networking.k8s.io/v1/httproutes" },
  { field: "cachePolicies", path: "/apis/lacquer.dev/v1alpha1/cachepolicies", optional: true },
  { field: "pods", path: "/api/v1/pods", labelSelector: MANAGED },
  { field: "configMaps", path: "/api/v1/configmaps", labelSelector: MANAGED },
];

/**
 * Runs `lacquer status`.
 *
 * @example Usage
 * ```ts ignore
 * import { runStatus } from "./run_status.ts";
 * import { CONSOLE_OUTPUT } from "./run_render.ts";
 * await runStatus({ output: "table" }, CONSOLE_OUTPUT);
 * ```
 *
 * @param config The validated flags.
 * @param out Where to write (progress to stderr).
 * @returns The exit code: 0 nothing to report, 3 the cluster cannot be read, 4 some object reports a problem.
 */
export async function runStatus(config: StatusConfig, out: ToolOutput): Promise<number> {
  let client;
  try {
    client = await connectCluster(config.kubeconfig);
    out.stderr(`lacquer status: reading ${client.server}`);
    const input: StatusInput = {
      gatewayClasses: [],
      gateways: [],
      httpRoutes: [],
      cachePolicies: [],
      pods: [],
      configMaps: [],
    };
    for (const read of READS) {
      try {
        input[read.field] = await listAll(client, read.path, read.labelSelector) as unknown as ListedObject[];
      } catch (err) {
        // Without Lacquer's CRDs there are no CachePolicies.
        if (read.optional && (err as { code?: number }).code === 404) continue;
        throw clusterError(err, read.path);
      }
    }
    const summary = summarizeStatus(input, config.namespace);
    out.stdout(config.output === "table" ? formatStatusTable(summary) : formatOutput(summary, config.output));
    return summary.problems.length === 0 ? 0 : 4;
  } catch (err) {
    if (!(err instanceof ClusterError)) throw err;
    out.stderr(`lacquer status: ${err.message}`);
    return 3;
  } finally {
    client?.close();
  }
}
