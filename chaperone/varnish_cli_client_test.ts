import { deepStrictEqual, equal, match, ok, rejects } from "node:assert/strict";
import { eventually } from "../tests/cluster/eventually.ts";
import { startScratchVarnish } from "./_test_varnish.ts";
import { heredocDelimiter, quoteCliArgument, VarnishCliClient, VarnishCliError } from "./varnish_cli_client.ts";

Deno.test("quoteCliArgument() leaves simple words and quotes the rest", () => {
  equal(quoteCliArgument("vcl.use"), "vcl.use");
  equal(quoteCliArgument("a b"), '"a b"');
  equal(quoteCliArgument('x"y\\z\n'), '"x\\"y\\\\z\\n"');
});

Deno.test("heredocDelimiter() never returns a token contained in the text", () => {
  const tokens = ["a", "a", "b"];
  equal(heredocDelimiter("...LACQUER_EOF_a...", () => tokens.shift()!), "LACQUER_EOF_b");
});

Deno.test("VarnishCliClient runs commands against a real varnishd", async (t) => {
  const varnish = await startScratchVarnish();
  const cli = new VarnishCliClient({ port: varnish.cliPort, secret: varnish.secret, timeoutMs: 5_000 });
  try {
    await t.step("authenticates and pings", async () => {
      await cli.ping();
      equal(await cli.status(), "running");
    });
    await t.step("loads a VCL whose text contains heredoc-like lines and quotes", async () => {
      const vcl =
        'vcl 4.1;\nbackend default none;\n# << EOF\n# EOF\n# LACQUER_EOF_\nsub vcl_recv { return (synth(201, {"x "y""})); }\n';
      await cli.vclInline("v2", vcl);
      await cli.vclUse("v2");
      const response = await fetch(`http://127.0.0.1:${varnish.httpPort}/`);
      await response.body?.cancel();
      equal(response.status, 201);
      const list = await cli.vclList();
      deepStrictEqual(list.map((e) => [e.name, e.status]), [["boot", "available"], ["v2", "active"]]);
    });
    await t.step("reports a compile failure with the compiler output and keeps the active VCL", async () => {
      await rejects(cli.vclInline("broken", "vcl 4.1;\nsub vcl_recv { nonsense; }\n"), (e) => {
        ok(e instanceof VarnishCliError);
        equal(e.status, 106);
        match(e.body, /nonsense/);
        return true;
      });
      equal((await cli.vclList()).find((e) => e.status === "active")?.name, "v2");
    });
    await t.step("discards and sets parameters", async () => {
      await cli.vclDiscard("boot");
      deepStrictEqual((await cli.vclList()).map((e) => e.name), ["v2"]);
      await cli.paramSet("default_ttl", "7");
      match(await cli.run("param.show", "default_ttl"), /Value is: 7/);
      await rejects(cli.paramSet("no_such_param", "1"), VarnishCliError);
    });
    await t.step("queues concurrent commands one at a time", async () => {
      equal(cli.busySince, undefined);
      const pending = Array.from({ length: 20 }, () => cli.status());
      ok(cli.busySince !== undefined);
      const answers = await Promise.all(pending);
      await eventually(() => equal(cli.busySince, undefined));
      deepStrictEqual(new Set(answers), new Set(["running"]));
    });
    await t.step("stops and starts the child", async () => {
      await cli.stop();
      equal(await cli.status(), "stopped");
      await cli.start();
      equal(await cli.status(), "running");
    });
  } finally {
    cli.close();
    await varnish.stop();
  }
});

Deno.test("VarnishCliClient rejects a wrong secret and reconnects after a failure", async () => {
  const varnish = await startScratchVarnish();
  const wrong = new VarnishCliClient({ port: varnish.cliPort, secret: new Uint8Array([1, 2, 3]), timeoutMs: 5_000 });
  const cli = new VarnishCliClient({ port: varnish.cliPort, secret: varnish.secret, timeoutMs: 5_000 });
  try {
    // varnishd closes the connection after a wrong answer to its challenge.
    await rejects(wrong.ping(), (e) => e instanceof VarnishCliError && e.status !== 200);
    await cli.ping();
    // "quit" makes varnishd close the connection (status 500); the next command reconnects.
    equal((await cli.raw("quit")).status, 500);
    await cli.ping();
  } finally {
    wrong.close();
    cli.close();
    await varnish.stop();
  }
});

Deno.test("VarnishCliClient times out when nothing answers", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) accepted.push(conn);
  })();
  const cli = new VarnishCliClient({
    port: (listener.addr as Deno.NetAddr).port,
    secret: new Uint8Array(),
    timeoutMs: 200,
  });
  try {
    await rejects(cli.ping(), (e) => e instanceof DOMException && e.name === "TimeoutError");
  } finally {
    cli.close();
    listener.close();
    await accepting.catch(() => {});
    for (const conn of accepted) conn.close();
  }
});
