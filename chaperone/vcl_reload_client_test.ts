import { deepStrictEqual, equal, ok, rejects } from "node:assert/strict";
import { contentHash } from "../internal/content_hash.ts";
import { startScratchVarnish } from "./_test_varnish.ts";
import { VarnishCliClient } from "./varnish_cli_client.ts";
import { VclRejectedError, VclReloader } from "./vcl_reload_client.ts";

function vcl(status: number): string {
  return `vcl 4.1;\nbackend default none;\nsub vcl_recv { return (synth(${status})); }\n`;
}

async function get(port: number): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/`);
  await response.body?.cancel();
  return response.status;
}

Deno.test("VclReloader switches VCL, skips identical sources, keeps a few and survives compile errors", async () => {
  const varnish = await startScratchVarnish();
  const cli = new VarnishCliClient({ port: varnish.cliPort, secret: varnish.secret });
  const reloader = new VclReloader(cli, { keep: 1 });
  try {
    for (const status of [201, 202, 203]) {
      const result = await reloader.apply(vcl(status), contentHash(vcl(status)));
      ok(result.changed);
      equal(await get(varnish.httpPort), status);
    }
    equal((await reloader.apply(vcl(203), contentHash(vcl(203)))).changed, false);
    // One inactive chaperone VCL is kept; the boot VCL is not ours and stays.
    deepStrictEqual(
      (await cli.vclList()).map((e) => [e.name.replace(/_[0-9a-f]+$/, ""), e.status]),
      [["boot", "available"], ["lacquer_2", "available"], ["lacquer_3", "active"]],
    );
    const broken = "vcl 4.1;\nsub vcl_recv { broken; }\n";
    await rejects(reloader.apply(broken, contentHash(broken)), (e) => {
      ok(e instanceof VclRejectedError);
      ok(e.output.includes("broken"));
      return true;
    });
    equal(await get(varnish.httpPort), 203);
    equal(reloader.activeHash, contentHash(vcl(203)));
  } finally {
    cli.close();
    await varnish.stop();
  }
});
