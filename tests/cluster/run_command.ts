/**
 * Runs a short-lived helper program (ip, openssl, nsenter) and returns its standard output.
 *
 * @module
 */

/** Options for {@linkcode runCommand}. */
export interface RunCommandOptions {
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Working directory. */
  cwd?: string;
  /** Do not throw on a non-zero exit status. @default {false} */
  allowFailure?: boolean;
}

/** What a finished command printed. */
export interface CommandResult {
  /** Exit status. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/**
 * Runs `program` with `args` to completion.
 *
 * @param program The program name or path.
 * @param args Its arguments and options.
 * @returns The exit status and output.
 * @throws {Error} When the program exits non-zero, unless `allowFailure` is set.
 */
export async function runCommand(
  program: string,
  args: { args: string[] } & RunCommandOptions,
): Promise<CommandResult> {
  const out = await new Deno.Command(program, {
    args: args.args,
    env: args.env,
    cwd: args.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const result = {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
  if (result.code !== 0 && !args.allowFailure) {
    throw new Error(
      `Cannot run "${program} ${args.args.join(" ")}": exit status ${result.code}: ${result.stderr.trim()}`,
    );
  }
  return result;
}
