/**
 * VCL hot reload over the Varnish CLI: load under a unique name, switch, discard old ones beyond a few.
 *
 * @module
 */
import type { Logger } from "../internal/log.ts";
import { CliStatus, type VarnishCliClient, VarnishCliError } from "./varnish_cli_client.ts";

/** The prefix of every VCL name chaperone loads. */
export const VCL_NAME_PREFIX = "lacquer_";

/**
 * A VCL that varnishd refused: it did not compile (CLI status 106) or its `vcl_init` failed in the running child
 * (status 300). Loading the same source again fails the same way.
 */
export class VclRejectedError extends Error {
  /** The hash of the rejected source. */
  readonly hash: string;
  /** varnishd's output (compiler errors or the `vcl_init` failure). */
  readonly output: string;
  /** Whether it compiled and its `vcl_init` failed (rather than not compiling). */
  readonly initFailed: boolean;
  /** Creates the error. */
  constructor(hash: string, output: string, options?: ErrorOptions & { initFailed?: boolean }) {
    super(
      `Cannot load VCL "${hash}": varnishd rejected it: ${output.trim().split("\n").slice(0, 3).join(" ")}`,
      options,
    );
    this.name = "VclRejectedError";
    this.hash = hash;
    this.output = output;
    this.initFailed = options?.initFailed ?? false;
  }
}

/** Options for {@linkcode VclReloader}. */
export interface VclReloaderOptions {
  /** Inactive VCLs kept loaded (newest first) for a quick manual rollback. @default {2} */
  keep?: number;
  /** Logger. */
  log?: Logger;
}

/** The outcome of {@linkcode VclReloader.apply}. */
export interface VclApplyResult {
  /** Whether a new VCL was loaded (false when the active one already had this hash). */
  changed: boolean;
  /** The VCL's name in varnishd. */
  name: string;
  /** Time spent in varnishd, in milliseconds. */
  durationMs: number;
}

/**
 * Loads VCL into varnishd: each new source gets a unique name (`lacquer_<n>_<hash prefix>`), is compiled with
 * `vcl.inline`, then made active with `vcl.use`; inactive chaperone VCLs beyond `keep` are discarded. A source that
 * does not compile or whose `vcl_init` fails throws {@linkcode VclRejectedError} and leaves the active VCL serving.
 *
 * @example Usage
 * ```ts ignore
 * import { VclReloader } from "./vcl_reload_client.ts";
 * const reloader = new VclReloader(cli, { keep: 2 });
 * await reloader.apply(source, contentHash(source));
 * ```
 */
export class VclReloader {
  #cli: VarnishCliClient;
  #keep: number;
  #log: Logger | undefined;
  #sequence = 0;
  #active: { name: string; hash: string } | undefined;

  /**
   * Creates the reloader.
   *
   * @param cli The CLI client.
   * @param options How many old VCLs to keep.
   */
  constructor(cli: VarnishCliClient, options: VclReloaderOptions = {}) {
    this.#cli = cli;
    this.#keep = options.keep ?? 2;
    this.#log = options.log;
  }

  /** The hash of the active VCL, if chaperone loaded one in this varnishd. */
  get activeHash(): string | undefined {
    return this.#active?.hash;
  }

  /** Forgets the active VCL (after varnishd restarted with none loaded). */
  reset(): void {
    this.#active = undefined;
  }

  /**
   * Makes `source` the active VCL unless it already is.
   *
   * @param source The VCL source.
   * @param hash Its content hash.
   * @returns What happened.
   * @throws {VclRejectedError} When the VCL does not compile or its `vcl_init` fails; the active VCL stays.
   * @throws {VarnishCliError} When varnishd refuses another command.
   */
  async apply(source: string, hash: string): Promise<VclApplyResult> {
    if (this.#active?.hash === hash) return { changed: false, name: this.#active.name, durationMs: 0 };
    const started = performance.now();
    const name = `${VCL_NAME_PREFIX}${++this.#sequence}_${hash.replace(/^sha256:/, "").slice(0, 12)}`;
    try {
      await this.#cli.vclInline(name, source);
    } catch (err) {
      // 106: compile error; 300: the child ran vcl_init and it failed (a VMOD constructor, `return (fail)`).
      if (err instanceof VarnishCliError && (err.status === CliStatus.param || err.status === CliStatus.cant)) {
        throw new VclRejectedError(hash, err.body, { cause: err, initFailed: err.status === CliStatus.cant });
      }
      throw err;
    }
    await this.#cli.vclUse(name);
    this.#active = { name, hash };
    const durationMs = performance.now() - started;
    this.#log?.info("VCL loaded", { vcl: name, hash, durationMs: Math.round(durationMs) });
    await this.#discardOld();
    return { changed: true, name, durationMs };
  }

  async #discardOld(): Promise<void> {
    const list = await this.#cli.vclList();
    const old = list
      .filter((e) => e.status !== "active" && e.status !== "discarded" && e.name.startsWith(VCL_NAME_PREFIX))
      .map((e) => ({ name: e.name, seq: Number(/^lacquer_(\d+)_/.exec(e.name)?.[1] ?? 0) }))
      .sort((a, b) => b.seq - a.seq)
      .slice(this.#keep);
    for (const { name } of old) {
      try {
        await this.#cli.vclDiscard(name);
      } catch (err) {
        // A VCL still referenced (labels, busy requests) is discarded on a later reload.
        this.#log?.debug("VCL not discarded yet", { vcl: name, err });
      }
    }
  }
}
