import { equal, ok, throws } from "node:assert/strict";
import { createLogger } from "../internal/log.ts";
import { startScratchVarnish } from "./_test_varnish.ts";
import { VarnishCliClient } from "./varnish_cli_client.ts";
import { prepareVclCompileCache, vclCompileCacheCommand } from "./vcl_compile_cache.ts";

const VARNISHD = await new Deno.Command("varnishd", { args: ["-V"], stdout: "null", stderr: "null" }).output()
  .then(() => true, () => false);

const answering = (body: string) =>
  `vcl 4.1;\nbackend default none;\nsub vcl_recv { return (synth(200, "${body}")); }\n`;

async function entries(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

Deno.test("vclCompileCacheCommand refuses paths the shell command cannot carry", () => {
  throws(() => vclCompileCacheCommand("/run/it's.sh", "/run/cache"), /holds ' or %/);
  throws(() => vclCompileCacheCommand("/run/cc.sh", "/run/100%"), /holds ' or %/);
});

Deno.test({
  name: "a VCL compiled once is taken from the cache when loaded again under another name, and it serves",
  ignore: !VARNISHD,
  async fn() {
    const work = await Deno.makeTempDir({ prefix: "lacquer-vcl-cache-" });
    await Deno.chmod(work, 0o755);
    const ccCommand = await prepareVclCompileCache(work);
    const cache = `${work}/vcl-cache`;
    const varnish = await startScratchVarnish(undefined, ["-p", `cc_command=${ccCommand}`]);
    const cli = new VarnishCliClient({
      port: varnish.cliPort,
      secret: varnish.secret,
      log: createLogger({ level: "error" }),
    });
    try {
      equal((await entries(cache)).length, 1, "the boot VCL was compiled through the cache");
      const added = async (before: string[]) => (await entries(cache)).filter((name) => !before.includes(name));
      let before = await entries(cache);
      await cli.vclInline("first", answering("first"));
      const [first] = await added(before);
      before = await entries(cache);
      await cli.vclInline("second", answering("second"));
      const [second] = await added(before);
      ok(first && second && first !== second, "each new VCL adds its own object");
      // Swap what the cache holds for the first VCL: loading it again under a new name must take the object from
      // the cache (and so answer "second"), not compile it.
      await Deno.copyFile(`${cache}/${second}`, `${cache}/${first}`);
      before = await entries(cache);
      await cli.vclInline("again", answering("first"));
      equal((await added(before)).length, 0, "no new object for a VCL compiled before");
      await cli.vclUse("again");
      const response = await fetch(`http://127.0.0.1:${varnish.httpPort}/`);
      equal(response.status, 200);
      ok((await response.text()).includes("second"), "the object came from the cache");
    } finally {
      cli.close();
      await varnish.stop();
      await Deno.remove(work, { recursive: true });
    }
  },
});
