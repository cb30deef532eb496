import { deepEqual, equal, ok } from "node:assert/strict";
import { parse } from "yaml";
import { generateMainVcl, type MainVclOptions, userVclLines } from "./generate_main_vcl.ts";
import { lacquerCacheDir } from "../tests/cluster/layout.ts";
import { freePort, startScratchVarnish } from "../chaperone/_test_varnish.ts";
import { eventually } from "../tests/cluster/eventually.ts";

const DIR = new URL("./testdata/", import.meta.url);
const UPDATE = Deno.env.get("LACQUER_UPDATE_GOLDEN") === "1";

function cases(): string[] {
  return [...Deno.readDirSync(DIR)].map((e) => e.name).filter((n) => n.endsWith(".in.yaml")).sort();
}

Deno.test("generateMainVcl() produces the golden main.vcl of every case", async (t) => {
  for (const file of cases()) {
    const name = file.slice(0, -".in.yaml".length);
    await t.step(name, async () => {
      const options = parse(await Deno.readTextFile(new URL(file, DIR))) as MainVclOptions;
      const vcl = generateMainVcl(options);
      const out = new URL(`${name}.main.vcl`, DIR);
      if (UPDATE) return await Deno.writeTextFile(out, vcl);
      let expected: string;
      try {
        expected = await Deno.readTextFile(out);
      } catch {
        throw new Error(`Missing golden file ${name}.main.vcl: run LACQUER_UPDATE_GOLDEN=1 deno task test`);
      }
      equal(vcl, expected);
      equal(generateMainVcl(options), vcl);
    });
  }
});

/** The directory holding libvmod_ghost.so, when ghost has been built. */
function ghostVmodDir(): string | undefined {
  const cache = lacquerCacheDir(Deno.env);
  const target = Deno.env.get("CARGO_TARGET_DIR") ?? `${cache}/ghost-target`;
  for (const profile of ["release", "debug"]) {
    const dir = `${target}/${profile}/`;
    try {
      Deno.statSync(`${dir}libvmod_ghost.so`);
      return dir;
    } catch {
      // not built with this profile
    }
  }
  return undefined;
}

const vmodDir = ghostVmodDir();

/** Replaces ghost calls with built-in equivalents, to compile-check the rest when ghost is not built. */
function withoutGhost(vcl: string): string {
  return vcl.replace("import ghost;", "")
    .replace(/new router = ghost\.router\([^)]*\);/, "")
    .replace("router.control(req.url, client.ip)", "404")
    .replace("!router.recv_grace(local.socket, client.ip, proxy.authority())", "false")
    .replace(/router\.status\(\)/g, "404")
    .replace(/router\.backend\(\)/g, "lacquer_default")
    .replace("router.upgrade()", "false")
    .replace("router.deliver(obj.hits);", "")
    .replace("router.synth()", "false")
    .replace("router.body()", '""')
    .replace(/^\s*router\.cache_\w+\([^)]*\);$/gm, "")
    .replace(/router\.(cache_url|cache_key)\(\)/g, "req.url")
    .replace(/router\.cache_(ttl|grace|keep)\(\)/g, "0s")
    .replace(/router\.(cache_\w+|cacheable)\(\)/g, "false")
    .replace(/router\.invalidated\(xkey\.(soft)?purge\(router\.invalidation_keys\(\)\)\)/g, "200")
    .replace(/router\.invalidation(_soft)?\([^)]*\)/g, "false")
    .replace(/^\s*router\.retry_body_cached\(.*\);$/gm, "")
    .replace(/router\.fetch_backend\(\)/g, "lacquer_default")
    .replace(/router\.fetch_(connect_)?timeout\(([^)]*)\)/g, "$2")
    .replace(/router\.(retry_body|fetch\w*)\([^)]*\)/g, "false")
    .replace(/router\.peer(_recv|_fallback)?\(\)/g, "false");
}

Deno.test("generateMainVcl() contains every statement of ghost's canonical wiring, in order", async () => {
  // Returns differ by design: the preamble leaves them (and the cacheable() test that picks hash or pass) to the
  // postamble, after user VCL.
  const canonical = (await Deno.readTextFile(new URL("../ghost/ghost.vcl", import.meta.url)))
    .replace(/\n *if \(router\.cacheable\(\)\) \{\n *return \(hash\);\n *\}/, "");
  const statements = canonical.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"))
    .filter((l) => !l.startsWith("return (") || l.startsWith("return (synth"));
  const vcl = generateMainVcl({ gateway: "ns/gw" }).split("\n").map((l) => l.trim());
  let at = 0;
  for (const statement of statements) {
    const found = vcl.indexOf(statement, at);
    equal(found >= 0, true, `missing or out of order: ${statement}`);
    at = found + 1;
  }
});

Deno.test({
  name: `generateMainVcl() output compiles with varnishd -C${vmodDir ? "" : " (ghost calls stubbed: VMOD not built)"}`,
  async fn(t) {
    for (const file of cases()) {
      await t.step(file, async () => {
        const options = parse(await Deno.readTextFile(new URL(file, DIR))) as MainVclOptions;
        const path = await Deno.makeTempFile({ suffix: ".vcl" });
        try {
          const vcl = generateMainVcl(options);
          await Deno.writeTextFile(path, vmodDir ? vcl : withoutGhost(vcl));
          // varnishd drops root privileges before it reads the file.
          await Deno.chmod(path, 0o644);
          const workDir = await Deno.makeTempDir();
          await Deno.chmod(workDir, 0o755);
          // varnishd's compiler runs unprivileged: give it a readable copy of the VMOD.
          const vmods = await Deno.makeTempDir();
          await Deno.chmod(vmods, 0o755);
          if (vmodDir) await Deno.copyFile(`${vmodDir}libvmod_ghost.so`, `${vmods}/libvmod_ghost.so`);
          const out = await new Deno.Command("varnishd", {
            args: [
              "-C",
              "-n",
              workDir,
              "-p",
              `vmod_path=${vmods}:/usr/lib/x86_64-linux-gnu/varnish/vmods`,
              "-f",
              path,
            ],
            stdout: "piped",
            stderr: "piped",
          }).output();
          await Deno.remove(workDir, { recursive: true }).catch(() => {});
          await Deno.remove(vmods, { recursive: true });
          equal(out.code, 0, new TextDecoder().decode(out.stderr));
        } finally {
          await Deno.remove(path);
        }
      });
    }
  },
});

Deno.test("main.vcl answers clients without the Varnish version, transaction ids or a Guru Meditation page", async (t) => {
  // ghost stubbed: `router.status()` reads 404, so the stubbed preamble answers synth(404) (a synthetic answer that
  // is not ghost's); with that check switched off, the request goes to a backend that cannot be reached (503).
  const vcl = withoutGhost(generateMainVcl({ gateway: "ns/gw" }));
  // A delivered answer (the failed fetch) loses Via and X-Varnish in ghost's router.deliver(), stubbed here: the
  // varnishtest suite covers those (b14_clients_never_see_via_or_x_varnish.vtc).
  const cases = [
    { name: "a synthetic answer", vcl, status: 404, body: "404 Not Found\n", hidden: ["via", "x-varnish", "server"] },
    { name: "a failed fetch", vcl: vcl.replaceAll("if (404 > 0)", "if (false)"), status: 503, hidden: ["server"] },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const varnish = await startScratchVarnish(c.vcl);
      try {
        // The child starts a moment after the CLI answers.
        const response = await eventually(() => fetch(`http://127.0.0.1:${varnish.httpPort}/x`));
        const body = await response.text();
        equal(response.status, c.status);
        deepEqual(
          [...response.headers.keys()].filter((h) => c.hidden.includes(h)),
          [],
          JSON.stringify([...response.headers]),
        );
        ok(!/guru|varnish|xid/i.test(body), body);
        if (c.body) equal(body, c.body);
      } finally {
        await varnish.stop();
      }
    });
  }
});

Deno.test("userVclLines() finds the user's lines in main.vcl, with the user's own numbering", () => {
  const userVcl = "# mine\nvcl 4.1;\n\n\nsub vcl_recv {\n  set req.http.x = 1;\n}\n\n";
  const lines = userVclLines({ gateway: "ns/gw", userVcl })!;
  const main = generateMainVcl({ gateway: "ns/gw", userVcl }).split("\n");
  equal(main[lines.first - 1], "# mine");
  equal(lines.userFirst, 1);
  equal(main[lines.first - 1 + 4], "sub vcl_recv {", "the user's line 5");
  equal(main[lines.last - 1], "}");
  const declaredFirst = userVclLines({ gateway: "ns/gw", userVcl: "vcl 4.1;\n\nsub vcl_recv {\n}\n" })!;
  equal(declaredFirst.userFirst, 3, "the declaration and the blank line are not copied");
  equal(userVclLines({ gateway: "ns/gw" }), undefined);
});

/** A PROXY v2 header (TCP over IPv4, loopback) with hitch's SSL TLV: the client bits and the verification result. */
function proxyHeader(ssl?: { client: number; verify: number }): Uint8Array {
  const tlv = ssl === undefined
    ? []
    : [0x20, 0, 5, ssl.client, ...new Uint8Array(new Uint32Array([ssl.verify]).buffer).reverse()];
  const addresses = [127, 0, 0, 1, 127, 0, 0, 1, 0xc3, 0x50, 0x01, 0xbb];
  const length = addresses.length + tlv.length;
  return new Uint8Array([
    ...[0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a],
    0x21,
    0x11,
    length >> 8,
    length & 0xff,
    ...addresses,
    ...tlv,
  ]);
}

/** Sends a request with a forged X-SSL-Client-Verify after `preface`; answers the body's status line. */
async function forgedRequest(port: number, preface: Uint8Array): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const request = "GET / HTTP/1.1\r\nHost: x\r\nX-SSL-Client-Verify: SUCCESS\r\nConnection: close\r\n\r\n";
    await conn.write(new Uint8Array([...preface, ...new TextEncoder().encode(request)]));
    const response = await new Response(conn.readable).text();
    return response.slice(response.indexOf("\r\n\r\n") + 4).trim();
  } catch (err) {
    conn.close();
    throw err;
  }
}

Deno.test("main.vcl tells backends what hitch's PROXY header says of the client certificate, and nothing forged", async (t) => {
  // ghost stubbed (routing passes); user VCL answers with the header a backend would get.
  const vcl = withoutGhost(generateMainVcl({
    gateway: "ns/gw",
    clientVerifySockets: ["port-443"],
    userVcl: 'sub vcl_recv {\n    return (synth(200, "verify=" + req.http.X-SSL-Client-Verify));\n}\n',
  }));
  const verifying = freePort();
  const other = freePort();
  const varnish = await startScratchVarnish(vcl, [
    "-a",
    `port-443=127.0.0.1:${verifying},PROXY`,
    "-a",
    `port-8443=127.0.0.1:${other},PROXY`,
  ]);
  try {
    // The child starts a moment after the CLI answers.
    await eventually(() => forgedRequest(varnish.httpPort, new Uint8Array()));
    const cases: [string, number, Uint8Array, string][] = [
      // PP2_CLIENT_SSL 0x01, PP2_CLIENT_CERT_CONN 0x02 (hitch: only when every check passed), PP2_CLIENT_CERT_SESS 0x04.
      ["a verified certificate", verifying, proxyHeader({ client: 0x07, verify: 0 }), "200 verify=SUCCESS"],
      ["a certificate of an unknown CA", verifying, proxyHeader({ client: 0x05, verify: 20 }), "200 verify=FAILED:20"],
      ["no certificate", verifying, proxyHeader({ client: 0x01, verify: 0 }), "200 verify=NONE"],
      ["a listener that does not verify", other, proxyHeader({ client: 0x07, verify: 0 }), "200 verify="],
      ["a PROXY header without SSL TLV", verifying, proxyHeader(), "200 verify=NONE"],
      ["plain HTTP", varnish.httpPort, new Uint8Array(), "200 verify="],
    ];
    for (const [name, port, preface, expected] of cases) {
      await t.step(name, async () => equal(await forgedRequest(port, preface), expected));
    }
  } finally {
    await varnish.stop();
  }
});
