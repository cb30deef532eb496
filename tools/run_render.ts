/**
 * `lacquer render`: reads the files, renders them with the operator's pipeline and prints the result.
 *
 * @module
 */
import { stringify } from "yaml";
import { kubeTime } from "../internal/kube_time.ts";
import { DEFAULT_GATEWAY_IMAGE } from "../operator/options.ts";
import { InputError, loadObjects } from "./load_objects.ts";
import type { RenderConfig } from "./options.ts";
import { type Rendered, renderSnapshot } from "./render.ts";

/** Where a tool writes. */
export interface ToolOutput {
  /** The result. */
  stdout: (text: string) => void;
  /** Errors and notes. */
  stderr: (text: string) => void;
}

/** The console as {@linkcode ToolOutput}. */
export const CONSOLE_OUTPUT: ToolOutput = {
  stdout: (text) => console.log(text.trimEnd()),
  stderr: (text) => console.error(text.trimEnd()),
};

/**
 * Formats a document as YAML (multi-line strings as literal blocks) or as indented JSON.
 *
 * @param value The document.
 * @param format `yaml` or `json`.
 * @returns The text.
 */
export function formatOutput(value: unknown, format: "yaml" | "json"): string {
  if (format === "json") return JSON.stringify(value, null, 2) + "\n";
  return stringify(value, { lineWidth: 0, blockQuote: "literal", aliasDuplicateObjects: false });
}

/**
 * The printed form of a rendering: routing.json as a document (its exact bytes are compact JSON of the same
 * content), then the statuses.
 *
 * @param rendered The rendering.
 * @returns The document to print.
 */
export function printable(rendered: Rendered): Record<string, unknown> {
  const { outputs, ...status } = rendered;
  return {
    gateways: outputs.map((o) => ({
      gateway: o.gateway,
      ...(o.routingJson === undefined ? {} : { routing: JSON.parse(o.routingJson) }),
      ...(o.mainVcl === undefined ? {} : { mainVcl: o.mainVcl }),
      ...(o.children === undefined ? {} : { children: o.children }),
    })),
    status,
  };
}

/**
 * Runs `lacquer render`.
 *
 * @example Usage
 * ```ts ignore
 * import { CONSOLE_OUTPUT, runRender } from "./run_render.ts";
 * const code = await runRender({ file: ["deploy/demo/demo.yaml"], output: "yaml" }, CONSOLE_OUTPUT);
 * ```
 *
 * @param config The validated flags.
 * @param out Where to write.
 * @param now The time for conditions. @default {the current time}
 * @returns The exit code: 0 rendered, 1 bad input.
 */
export async function runRender(config: RenderConfig, out: ToolOutput, now = kubeTime(new Date())): Promise<number> {
  try {
    const { snapshot, ignored } = await loadObjects(config.file);
    for (const label of ignored) out.stderr(`lacquer render: ignored ${label}: not a kind the operator reads`);
    if (
      config.gateway && !snapshot.gateways.some((g) => `${g.metadata.namespace}/${g.metadata.name}` === config.gateway)
    ) {
      throw new InputError(`Cannot render Gateway ${config.gateway}: it is not in the files`);
    }
    const rendered = renderSnapshot(snapshot, {
      now,
      defaults: { image: DEFAULT_GATEWAY_IMAGE },
      ...(config.gateway ? { gateway: config.gateway } : {}),
    });
    out.stdout(formatOutput(printable(rendered), config.output));
    return 0;
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    out.stderr(`lacquer render: ${err.message}`);
    return 1;
  }
}
