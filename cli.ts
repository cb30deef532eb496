/**
 * The `lacquer` command line: argv in, a validated command out. No I/O and no product logic here.
 *
 * Usage errors (unknown flags or commands, bad values) are reported as {@linkcode UsageError}s, which the entry
 * point turns into exit code 2.
 *
 * @module
 */
import { Command, CommanderError, Option } from "commander";
import { z } from "zod";
import { CHAPERONE_FLAGS, type ChaperoneConfig, chaperoneConfigSchema, withEnvironment } from "./chaperone/options.ts";
import {
  OPERATOR_FLAGS,
  type OperatorConfig,
  operatorConfigSchema,
  operatorFlagsWithEnvironment,
} from "./operator/options.ts";
import { LogLevel, type LogLevelName } from "./internal/log.ts";
import {
  type ExplainConfig,
  explainConfigSchema,
  type RenderConfig,
  renderConfigSchema,
  type StatusConfig,
  statusConfigSchema,
} from "./tools/options.ts";
import { LACQUER_VERSION } from "./internal/version.ts";

/** Options every subcommand shares. */
export interface GlobalOptions {
  /** Minimum level of log lines written. */
  logLevel: LogLevelName;
}

/** What the command line asked for. */
export type ParsedCommand =
  | { command: "operator"; global: GlobalOptions; options: OperatorConfig }
  | { command: "chaperone"; global: GlobalOptions; options: ChaperoneConfig }
  | { command: "render"; global: GlobalOptions; options: RenderConfig }
  | { command: "explain"; global: GlobalOptions; options: ExplainConfig }
  | { command: "status"; global: GlobalOptions; options: StatusConfig }
  | { command: "version"; global: GlobalOptions }
  | { command: "exit"; code: number; output: string };

/** Options for {@linkcode parseCommandLine}. */
export interface ParseCommandLineOptions {
  /** The environment, read for flags that have a variable (chaperone). @default {{}} */
  env?: Record<string, string | undefined>;
}

/** A command line that cannot be used as given; the process exits with code 2. */
export class UsageError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

const globalSchema = z.object({
  logLevel: z.enum(Object.keys(LogLevel) as [LogLevelName, ...LogLevelName[]]),
});

function configure(command: Command, out: { text: string }): Command {
  return command
    .exitOverride()
    .configureOutput({ writeOut: (s) => out.text += s, writeErr: (s) => out.text += s, outputError: () => {} })
    .allowExcessArguments(false)
    .helpOption("-h, --help", "show help for this command");
}

/**
 * Parses `lacquer` arguments (without the program name) into the command to run.
 *
 * `--help` on any command and `--version` yield `{ command: "exit", code: 0, output }`.
 *
 * @example Usage
 * ```ts
 * import { parseCommandLine } from "./cli.ts";
 * const parsed = parseCommandLine(["--log-level", "debug", "operator"]);
 * ```
 *
 * @param argv The arguments after the program name.
 * @param options The environment to read.
 * @returns The parsed command.
 * @throws {UsageError} When a flag, command or value is not accepted.
 */
export function parseCommandLine(argv: readonly string[], options: ParseCommandLineOptions = {}): ParsedCommand {
  const out = { text: "" };
  let selected: "operator" | "chaperone" | "render" | "explain" | "status" | "version" | undefined;
  let toolFlags: Record<string, unknown> = {};
  let chaperoneFlags: Record<string, unknown> = {};
  let operatorFlags: Record<string, unknown> = {};
  const program = configure(new Command("lacquer"), out)
    .description("Lacquer: a Kubernetes Gateway API implementation with Varnish as the data plane")
    .version(LACQUER_VERSION, "-V, --version", "print the version and exit")
    .addOption(
      new Option("--log-level <level>", "minimum level of log lines").choices(Object.keys(LogLevel)).default("info"),
    )
    .showHelpAfterError(false);
  for (
    const [name, description] of [
      ["operator", "run the Gateway API controller (cluster-wide)"],
      ["chaperone", "run as PID 1 of a gateway pod: supervise varnishd and its configuration"],
      ["version", "print the version"],
    ] as const
  ) {
    const command = configure(program.command(name), out).description(description).action(() => {
      selected = name;
      chaperoneFlags = command.opts();
      operatorFlags = command.opts();
    });
    if (name === "chaperone") addChaperoneFlags(command);
    if (name === "operator") addOperatorFlags(command);
  }
  addToolFlags(configure(program.command("render"), out))
    .description("print what the operator would produce for YAML files, offline (exit 1: bad input)")
    .action((opts: Record<string, unknown>) => {
      selected = "render";
      toolFlags = opts;
    });
  addToolFlags(configure(program.command("explain"), out))
    .description(
      "explain how a Gateway routes and caches a request, from YAML files (-f) or the live cluster " +
        "(exit 1: bad input, 3: cluster unreadable)",
    )
    .addOption(new Option("--kubeconfig <path>", "kubeconfig of the live cluster (default: KUBECONFIG)"))
    .argument("<method>", "request method, e.g. GET")
    .argument("<url>", "request URL, e.g. http://shop.example.com/catalog?page=2")
    .addOption(new Option("-H, --header <name:value>", "request header (repeatable)").argParser(repeat))
    .addOption(new Option("--listener <name>", "the listener, when several share the URL's port"))
    .action((method: string, url: string, opts: Record<string, unknown>) => {
      selected = "explain";
      toolFlags = { ...opts, method, url };
    });
  configure(program.command("status"), out)
    .description(
      "one-screen summary of Lacquer's Gateways, routes, policies and gateway pods in the live cluster " +
        "(exit 3: cluster unreadable, 4: a problem is reported)",
    )
    .addOption(new Option("--kubeconfig <path>", "kubeconfig of the cluster (default: KUBECONFIG)"))
    .addOption(new Option("-n, --namespace <namespace>", "only this namespace (default: all)"))
    .addOption(new Option("-o, --output <format>", "output format").choices(["table", "yaml", "json"]).default("table"))
    .action((opts: Record<string, unknown>) => {
      selected = "status";
      toolFlags = opts;
    });
  try {
    program.parse([...argv], { from: "user" });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    if (err.code === "commander.helpDisplayed" || err.code === "commander.version") {
      return { command: "exit", code: 0, output: out.text };
    }
    // No command at all: show the help, but as a usage error.
    if (err.code === "commander.help") return { command: "exit", code: 2, output: out.text };
    throw new UsageError(err.message.replace(/^error: /, ""));
  }
  if (selected === undefined) {
    throw new UsageError(
      `Cannot run lacquer: a command is required (operator, chaperone, render, explain, status or version)`,
    );
  }
  const global = globalSchema.safeParse(program.opts());
  if (!global.success) throw new UsageError(`Cannot parse global options: ${z.prettifyError(global.error)}`);
  if (selected === "chaperone") {
    const config = chaperoneConfigSchema.safeParse(withEnvironment(chaperoneFlags, options.env ?? {}));
    if (!config.success) throw new UsageError(`Cannot parse chaperone options: ${z.prettifyError(config.error)}`);
    return { command: selected, global: global.data, options: config.data };
  }
  if (selected === "operator") {
    const config = operatorConfigSchema.safeParse(operatorFlagsWithEnvironment(operatorFlags, options.env ?? {}));
    if (!config.success) throw new UsageError(`Cannot parse operator options: ${z.prettifyError(config.error)}`);
    return { command: selected, global: global.data, options: config.data };
  }
  if (selected === "render") {
    const config = renderConfigSchema.safeParse(toolFlags);
    if (!config.success) throw new UsageError(`Cannot parse render options: ${z.prettifyError(config.error)}`);
    return { command: selected, global: global.data, options: config.data };
  }
  if (selected === "explain") {
    const config = explainConfigSchema.safeParse(toolFlags);
    if (!config.success) throw new UsageError(`Cannot parse explain options: ${z.prettifyError(config.error)}`);
    return { command: selected, global: global.data, options: config.data };
  }
  if (selected === "status") {
    const config = statusConfigSchema.safeParse(toolFlags);
    if (!config.success) throw new UsageError(`Cannot parse status options: ${z.prettifyError(config.error)}`);
    return { command: selected, global: global.data, options: config.data };
  }
  return { command: selected, global: global.data };
}

function repeat(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function addToolFlags(command: Command): Command {
  return command
    .addOption(new Option("-f, --file <path>", "YAML or JSON file, or a folder of them (repeatable)").argParser(repeat))
    .addOption(new Option("-o, --output <format>", "output format").choices(["yaml", "json"]).default("yaml"))
    .addOption(new Option("--gateway <namespace/name>", "only this Gateway"));
}

function addOperatorFlags(command: Command): void {
  for (const flag of OPERATOR_FLAGS) {
    command.addOption(new Option(flag.flags, `${flag.description} [env: ${flag.env}]`));
  }
}

function addChaperoneFlags(command: Command): void {
  for (const flag of CHAPERONE_FLAGS) {
    const option = new Option(flag.flags, `${flag.description} [env: ${flag.env}]`);
    if (flag.repeatable) {
      option.argParser(repeat);
    }
    command.addOption(option);
  }
}
