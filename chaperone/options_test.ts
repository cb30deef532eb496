import { deepStrictEqual, equal, match, throws } from "node:assert/strict";
import { parseCommandLine, UsageError } from "../cli.ts";
import { chaperoneConfigSchema, withEnvironment } from "./options.ts";

function chaperone(argv: string[], env: Record<string, string> = {}) {
  const parsed = parseCommandLine(["chaperone", ...argv], { env });
  if (parsed.command !== "chaperone") throw new Error(`expected chaperone, got ${parsed.command}`);
  return parsed.options;
}

Deno.test("chaperoneConfigSchema applies the documented defaults", () => {
  const config = chaperone(["--namespace", "ns", "--configmap", "gw-lacquer"]);
  deepStrictEqual(config, {
    namespace: "ns",
    configmap: "gw-lacquer",
    listen: [],
    tlsListen: [],
    tlsSecret: "gw-lacquer-tls",
    hitch: "hitch",
    storage: "malloc,256m",
    varnishdArg: [],
    workDir: "/var/run/lacquer",
    adminAddress: { hostname: "0.0.0.0", port: 8901 },
    cliPort: 6082,
    ghostPort: 6091,
    varnishd: "varnishd",
    varnishstat: "varnishstat",
    varnishncsa: "varnishncsa",
    accessLogSample: 1,
    http2: false,
    adminTokenFile: "/var/run/lacquer/admin/token",
    drainSeconds: 20,
    coalesceMs: 0,
    keepVcls: 2,
    maxRestarts: 5,
  });
});

Deno.test("chaperone flags win over the environment, which fills the rest", () => {
  const config = chaperone(["--listen", "port-80=:80", "--listen=port-8443=127.0.0.1:8443", "--configmap", "a"], {
    POD_NAMESPACE: "from-env",
    LACQUER_CONFIGMAP: "ignored",
    LACQUER_LISTEN: "ignored=:1",
    LACQUER_VARNISHD_ARGS: "-p default_ttl=10 -s file,/tmp/x,1g",
    LACQUER_ADMIN_ADDRESS: "[::1]:9000",
  });
  equal(config.namespace, "from-env");
  equal(config.configmap, "a");
  deepStrictEqual(config.listen, [
    { name: "port-80", host: "", port: 80 },
    { name: "port-8443", host: "127.0.0.1", port: 8443 },
  ]);
  deepStrictEqual(config.varnishdArg, ["-p", "default_ttl=10", "-s", "file,/tmp/x,1g"]);
  deepStrictEqual(config.adminAddress, { hostname: "::1", port: 9000 });
});

Deno.test("chaperone options reject owned varnishd flags, bad listeners and missing names", () => {
  throws(() => chaperone(["--namespace", "n", "--configmap", "c", "--varnishd-arg=-T"]), UsageError);
  throws(() => chaperone(["--namespace", "n", "--configmap", "c", "--listen", "80"]), /port-80=:80/);
  throws(() => chaperone(["--namespace", "n", "--configmap", "c", "--listen", "ghost=:1"]), /reserved/);
  throws(() => chaperone(["--namespace", "n", "--configmap", "c", "--listen", "a=:1", "--listen", "a=:2"]), /unique/);
  throws(
    () => chaperone(["--namespace", "n", "--configmap", "c", "--listen", "a=:1", "--tls-listen", "a=:2"]),
    /unique/,
  );
  throws(() => chaperone([]), (e) => e instanceof UsageError && /--namespace/.test(e.message));
});

Deno.test("chaperone options take TLS listeners, and the TLS Secret defaults to the ConfigMap name plus -tls", () => {
  const config = chaperone(["--namespace", "n", "--configmap", "gw-lacquer"], {
    LACQUER_TLS_LISTEN: "port-443=:443 port-8443=:8443",
  });
  deepStrictEqual(config.tlsListen, [
    { name: "port-443", host: "", port: 443 },
    { name: "port-8443", host: "", port: 8443 },
  ]);
  equal(config.tlsSecret, "gw-lacquer-tls");
  equal(config.hitch, "hitch");
  equal(chaperone(["--namespace", "n", "--configmap", "c", "--tls-secret", "certs"]).tlsSecret, "certs");
});

Deno.test("withEnvironment() ignores empty variables and keeps given flags", () => {
  deepStrictEqual(withEnvironment({ namespace: "x" }, { POD_NAMESPACE: "y", LACQUER_CONFIGMAP: "" }), {
    namespace: "x",
  });
  match(String(chaperoneConfigSchema.safeParse({}).error), /namespace/);
});

Deno.test("the access log sample is a share from 0 (off) to 1", () => {
  equal(
    chaperone(["--namespace", "ns", "--configmap", "a"], { LACQUER_ACCESS_LOG_SAMPLE: "0.25" }).accessLogSample,
    0.25,
  );
  equal(chaperone(["--namespace", "ns", "--configmap", "a", "--access-log-sample", "0"]).accessLogSample, 0);
  throws(() => chaperone(["--namespace", "ns", "--configmap", "a", "--access-log-sample", "2"]));
});

Deno.test("HTTP/2 is off unless the flag or LACQUER_HTTP2 turns it on", () => {
  equal(chaperone(["--namespace", "ns", "--configmap", "a"]).http2, false);
  equal(chaperone(["--namespace", "ns", "--configmap", "a"], { LACQUER_HTTP2: "true" }).http2, true);
  equal(chaperone(["--namespace", "ns", "--configmap", "a", "--http2", "false"]).http2, false);
  throws(() => chaperone(["--namespace", "ns", "--configmap", "a", "--http2", "maybe"]));
});
