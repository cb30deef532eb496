/**
 * `lacquer explain`: renders the files, or the live cluster's objects, with the operator's pipeline, merges
 * endpoints as chaperone does, and explains how the Gateway's ghost would decide one request.
 *
 * @module
 */
import { mergeEndpoints } from "../chaperone/merge_endpoints.ts";
import { serviceViewSchema } from "../chaperone/kube_views.ts";
import { parseRoutingJson } from "../ghost/contract/mod.ts";
import { kubeTime } from "../internal/kube_time.ts";
import { DEFAULT_GATEWAY_IMAGE } from "../operator/options.ts";
import { explainRequest } from "./explain.ts";
import { ClusterError, connectCluster, loadClusterObjects } from "./cluster_objects.ts";
import { InputError, type LoadedObjects, loadObjects } from "./load_objects.ts";
import type { ExplainConfig } from "./options.ts";
import { renderSnapshot } from "./render.ts";
import { formatOutput, type ToolOutput } from "./run_render.ts";

/**
 * Runs `lacquer explain`.
 *
 * @example Usage
 * ```ts ignore
 * import { runExplain } from "./run_explain.ts";
 * import { CONSOLE_OUTPUT } from "./run_render.ts";
 * await runExplain({ file: ["shop.yaml"], output: "yaml", method: "GET", url: "http://shop.example.com/", header: [] }, CONSOLE_OUTPUT);
 * ```
 *
 * @param config The validated flags and arguments.
 * @param out Where to write (progress of a live read goes to stderr).
 * @returns The exit code: 0 explained, 1 bad input (files, no such Gateway or listener), 3 the cluster cannot be
 * read.
 */
export async function runExplain(config: ExplainConfig, out: ToolOutput): Promise<number> {
  try {
    const { snapshot, endpointSlices } = await readObjects(config, out);
    const rendered = renderSnapshot(snapshot, {
      now: kubeTime(new Date()),
      defaults: { image: DEFAULT_GATEWAY_IMAGE },
      ...(config.gateway ? { gateway: config.gateway } : {}),
    });
    const gateways = rendered.outputs.filter((o) => o.routingJson !== undefined);
    if (config.gateway && gateways.length === 0) {
      throw new InputError(
        `Cannot explain on Gateway ${config.gateway}: it is not in the ${
          config.file.length ? "files" : "cluster"
        }, or not of a lacquer GatewayClass`,
      );
    }
    if (gateways.length !== 1) {
      const names = gateways.map((g) => g.gateway).join(", ") || "none";
      throw new InputError(
        `Cannot pick a Gateway: the ${
          config.file.length ? "files hold" : "cluster has"
        } ${gateways.length} of ours (${names}); name one with --gateway`,
      );
    }
    const routing = parseRoutingJson(gateways[0].routingJson!);
    const ghost = mergeEndpoints(routing, {
      services: snapshot.services.map((s) => serviceViewSchema.parse(s)),
      endpointSlices,
    });
    const url = new URL(config.url);
    const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
    const listener = config.listener
      ? routing.listeners.find((l) => l.name === config.listener)
      : routing.listeners.find((l) => l.port === port);
    if (config.listener && !listener) {
      throw new InputError(
        `Cannot use --listener ${config.listener}: Gateway ${gateways[0].gateway} has no such listener`,
      );
    }
    const hostHeader = config.header.find((h) => h.name.toLowerCase() === "host")?.value;
    const explanation = explainRequest(ghost, {
      // No listener on the port: ghost's answer for a socket it does not serve.
      socket: listener?.socket ?? `port-${port}`,
      host: hostHeader ?? url.host,
      url: `${url.pathname}${url.search}`,
      method: config.method,
      headers: config.header.filter((h) => h.name.toLowerCase() !== "host"),
    });
    out.stdout(formatOutput({ gateway: gateways[0].gateway, ...explanation }, config.output));
    return 0;
  } catch (err) {
    if (err instanceof ClusterError) {
      out.stderr(`lacquer explain: ${err.message}`);
      return 3;
    }
    if (!(err instanceof InputError)) throw err;
    out.stderr(`lacquer explain: ${err.message}`);
    return 1;
  }
}

/** The files' objects, or without files the live cluster's. */
async function readObjects(config: ExplainConfig, out: ToolOutput): Promise<LoadedObjects> {
  if (config.file.length > 0) return await loadObjects(config.file);
  const client = await connectCluster(config.kubeconfig);
  try {
    out.stderr(`lacquer explain: reading ${client.server}`);
    return await loadClusterObjects(client, (note) => out.stderr(`lacquer explain: ${note}`));
  } finally {
    client.close();
  }
}
