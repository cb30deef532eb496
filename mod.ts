/**
 * The `lacquer` binary: `lacquer operator`, `chaperone`, `render`, `explain`, `status` and `version`.
 *
 * This file only turns argv into a validated command and hands it to the subcommand's `run*` function. Each
 * subcommand's code is imported when it runs: the chaperone (a gateway pod's PID 1, restarted while clients wait)
 * then loads none of the operator's modules and the operator none of the chaperone's, which cuts process start.
 *
 * @module
 */
import { parseCommandLine, UsageError } from "./cli.ts";
import { createLogger } from "./internal/log.ts";
import { LACQUER_VERSION } from "./internal/version.ts";

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
    case "operator": {
      const { runOperator } = await import("./operator/mod.ts");
      return await runOperator({
        log: createLogger({ level: parsed.global.logLevel, fields: { component: "operator" } }),
        config: parsed.options,
      });
    }
    case "chaperone": {
      const { runChaperone } = await import("./chaperone/mod.ts");
      return await runChaperone({
        log: createLogger({ level: parsed.global.logLevel, fields: { component: "chaperone" } }),
        config: parsed.options,
      });
    }
    case "render": {
      const { runRender, CONSOLE_OUTPUT } = await import("./tools/mod.ts");
      return await runRender(parsed.options, CONSOLE_OUTPUT);
    }
    case "explain": {
      const { runExplain, CONSOLE_OUTPUT } = await import("./tools/mod.ts");
      return await runExplain(parsed.options, CONSOLE_OUTPUT);
    }
    case "status": {
      const { runStatus, CONSOLE_OUTPUT } = await import("./tools/mod.ts");
      return await runStatus(parsed.options, CONSOLE_OUTPUT);
    }
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
