/**
 * The `lacquer` binary: `lacquer operator`, `chaperone`, `render`, `explain`, `status` and `version`.
 *
 * This file only turns argv into a validated command and hands it to the subcommand's `run*` function.
 *
 * @module
 */
import { runChaperone } from "./chaperone/mod.ts";
import { parseCommandLine, UsageError } from "./cli.ts";
import { createLogger } from "./internal/log.ts";
import { LACQUER_VERSION } from "./internal/version.ts";
import { runOperator } from "./operator/mod.ts";
import { CONSOLE_OUTPUT, runExplain, runRender, runStatus } from "./tools/mod.ts";

/**
 * Runs the `lacquer` command line.
 *
 * @param argv The arguments after the program name.
 * @returns The process exit code: 0 success, 1 failure (bad input), 2 usage error, 3 the cluster cannot be read
 * (explain, status), 4 `status` reports a problem.
 */
export async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseCommandLine(argv, { env: Deno.env.toObject() });
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`lacquer: ${err.message}\nRun "lacquer --help" for usage.`);
    return 2;
  }
  switch (parsed.command) {
    case "exit":
      if (parsed.output) console.log(parsed.output.trimEnd());
      return parsed.code;
    case "version":
      console.log(LACQUER_VERSION);
      return 0;
    case "operator":
      return await runOperator({
        log: createLogger({ level: parsed.global.logLevel, fields: { component: "operator" } }),
        config: parsed.options,
      });
    case "chaperone":
      return await runChaperone({
        log: createLogger({ level: parsed.global.logLevel, fields: { component: "chaperone" } }),
        config: parsed.options,
      });
    case "render":
      return await runRender(parsed.options, CONSOLE_OUTPUT);
    case "explain":
      return await runExplain(parsed.options, CONSOLE_OUTPUT);
    case "status":
      return await runStatus(parsed.options, CONSOLE_OUTPUT);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
