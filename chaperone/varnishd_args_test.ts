import { deepStrictEqual, equal } from "node:assert/strict";
import { varnishdArgs } from "./varnishd_args.ts";

Deno.test("varnishdArgs() starts varnishd without VCL, with the CLI, listeners and the ghost socket", () => {
  deepStrictEqual(
    varnishdArgs({
      instanceDir: "/w/varnishd",
      secretFile: "/w/secret",
      cliPort: 6082,
      ghostPort: 6091,
      listeners: [{ name: "port-80", host: "", port: 80 }, { name: "v6", host: "::1", port: 8080 }],
      storage: "malloc,64m",
      vmodPath: "/a:/b",
      extra: ["-p", "default_ttl=5"],
    }),
    [
      "-F",
      "-n",
      "/w/varnishd",
      "-f",
      "",
      "-T",
      "127.0.0.1:6082",
      "-S",
      "/w/secret",
      "-a",
      "port-80=:80",
      "-a",
      "v6=[::1]:8080",
      "-a",
      "ghost=127.0.0.1:6091",
      "-s",
      "malloc,64m",
      "-p",
      "vmod_path=/a:/b",
      "-p",
      "default_ttl=5",
    ],
  );
});

Deno.test("varnishdArgs() gives each TLS listener a loopback PROXY socket under its own name", () => {
  const args = varnishdArgs({
    instanceDir: "/w/varnishd",
    secretFile: "/w/secret",
    cliPort: 6082,
    ghostPort: 6091,
    listeners: [{ name: "port-80", host: "", port: 80 }],
    proxyListeners: [{ name: "port-443", port: 6100 }],
    storage: "malloc,64m",
    extra: [],
  });
  deepStrictEqual(args.slice(9, 15), [
    "-a",
    "port-80=:80",
    "-a",
    "port-443=127.0.0.1:6100,PROXY",
    "-a",
    "ghost=127.0.0.1:6091",
  ]);
});

/** Options of a varnishd without listeners, for the tests of one setting each. */
const BARE = {
  instanceDir: "/w/varnishd",
  secretFile: "/w/secret",
  cliPort: 6082,
  ghostPort: 6091,
  listeners: [],
  storage: "malloc,64m",
  extra: [],
};

Deno.test("varnishdArgs() turns HTTP/2 on only when asked", () => {
  const options = BARE;
  equal(varnishdArgs(options).includes("feature=+http2"), false);
  const args = varnishdArgs({ ...options, http2: true });
  equal(args[args.indexOf("feature=+http2") - 1], "-p");
});

Deno.test("varnishdArgs() sets cc_command only when given, before the extra arguments", () => {
  const options = { ...BARE, extra: ["-p", "thread_pools=1"] };
  equal(varnishdArgs(options).some((a) => a.startsWith("cc_command=")), false);
  const args = varnishdArgs({ ...options, ccCommand: "exec /bin/sh /w/cc.sh %o %s %D" });
  deepStrictEqual(args.slice(-4), ["-p", "cc_command=exec /bin/sh /w/cc.sh %o %s %D", "-p", "thread_pools=1"]);
});
