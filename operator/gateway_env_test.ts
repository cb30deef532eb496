import { equal, match } from "node:assert/strict";
import { envProblem } from "./gateway_env.ts";

Deno.test("envProblem() refuses what the gateway pod's processes read for their own configuration", () => {
  for (
    const name of [
      "LD_PRELOAD",
      "ld_library_path",
      "GCONV_PATH",
      "GLIBC_TUNABLES",
      "OPENSSL_CONF",
      "HOSTALIASES",
      "KUBECONFIG",
      "KUBERNETES_SERVICE_HOST",
      "LACQUER_KEEPER_SOCKET",
      "LACQUER_ADMIN_TOKEN_FILE",
      "LACQUER_VARNISHD",
      "LACQUER_VMOD_PATH",
      "POD_NAME",
      "POD_NAMESPACE",
      "DENO_DIR",
      "DENO_AUTH_TOKENS",
      "DENO_CERT",
      "DENO_V8_FLAGS",
      "NODE_OPTIONS",
      "NODE_EXTRA_CA_CERTS",
      "SSL_CERT_FILE",
      "https_proxy",
      "PATH",
      "TMPDIR",
    ]
  ) {
    match(envProblem([{ name: "TZ" }, { name }]) ?? "", new RegExp(`^env: "${name}" is refused: .+ \\(.+\\)$`), name);
  }
  equal(envProblem([{ name: "LD_PRELOAD" }, { name: "KUBECONFIG" }])?.startsWith('env: "LD_PRELOAD"'), true);
});

Deno.test("envProblem() lets through the chaperone's tuning settings and names only starting or ending like a refused one", () => {
  for (
    const name of [
      "TZ",
      "LANG",
      "MY_PATH",
      "PATHS",
      "OLD_PRELOAD",
      "KUBECONFIG_HINT",
      "LACQUER",
      "DENO",
      "POD",
      "LACQUER_DRAIN_SECONDS",
      "lacquer_keep_vcls",
    ]
  ) {
    equal(envProblem([{ name }]), undefined, name);
  }
  equal(envProblem([]), undefined);
});
