import { equal, match, ok } from "node:assert/strict";
import { Buffer } from "node:buffer";
import { MAIN_VCL_KEY, ROUTING_JSON_KEY, tlsBundleKey } from "../internal/names.ts";
import {
  clusterAvailable,
  createTestNamespace,
  eventually,
  type SelfSignedCertificate,
  selfSignedCertificate,
  type TestNamespace,
  useCluster,
} from "../tests/cluster/mod.ts";
import { withTestChaperone } from "./_test_cluster_fixtures.ts";
import { freePort } from "./_test_varnish.ts";

const ignore = !clusterAvailable();

/** A VCL that stands in for ghost: the reload path on the ghost socket; elsewhere who received the request. */
const VCL = `vcl 4.1;
import proxy;
backend default none;
sub vcl_recv {
  if (local.socket == "ghost" && req.url == "/.varnish-ghost/reload") {
    return (synth(200, "reloaded"));
  }
  return (synth(200, "socket=" + local.socket + " host=" + req.http.host + " tls=" + proxy.is_ssl()));
}
sub vcl_synth {
  set resp.http.content-type = "text/plain";
  set resp.body = resp.reason;
  return (deliver);
}
`;

const ROUTING = JSON.stringify({ version: 1, listeners: [], vhosts: {} }) + "\n";

function bundle(c: SelfSignedCertificate): string {
  return Buffer.from(c.key + c.cert).toString("base64");
}

async function putSecret(ns: TestNamespace, data: Record<string, string>) {
  const path = `/api/v1/namespaces/${ns.name}/secrets`;
  const body = { apiVersion: "v1", kind: "Secret", metadata: { name: "gw-lacquer-tls" }, type: "Opaque", data };
  try {
    const current = await ns.client.request<{ metadata: { resourceVersion: string } }>(`${path}/gw-lacquer-tls`);
    await ns.client.request(`${path}/gw-lacquer-tls`, {
      method: "PUT",
      body: { ...body, metadata: { ...body.metadata, resourceVersion: current.metadata.resourceVersion } },
    });
  } catch (err) {
    if ((err as { code?: number }).code !== 404) throw err;
    await ns.client.request(path, { method: "POST", body });
  }
}

/** An HTTPS request with SNI `host`, trusting only `ca`; answers "<status> <body>" or throws. */
async function httpsGet(port: number, host: string, ca: string): Promise<string> {
  const output = await new Deno.Command("curl", {
    args: [
      "-sS",
      "--max-time",
      "5",
      "--cacert",
      ca,
      "--resolve",
      `${host}:${port}:127.0.0.1`,
      "-w",
      " %{http_code}",
      `https://${host}:${port}/`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  if (!output.success) throw new Error(`curl failed: ${new TextDecoder().decode(output.stderr)}`);
  const [body, status] = [text.slice(0, text.lastIndexOf(" ")), text.slice(text.lastIndexOf(" ") + 1)];
  return `${status} ${body}`;
}

Deno.test({
  name: "chaperone terminates TLS with hitch: SNI picks the certificate, a rotated certificate applies without restart",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const cluster = await useCluster();
  await using ns = await createTestNamespace(cluster);
  const workDir = await Deno.makeTempDir({ prefix: "lacquer-chaperone-tls-" });
  // inside workDir, so that it goes with it
  const certDir = `${workDir}/certs`;
  await Deno.mkdir(certDir);
  const httpsPort = freePort();
  const a = await selfSignedCertificate(certDir, "a", ["a.example.com"]);
  const fallback = await selfSignedCertificate(certDir, "any", ["*.example.com"]);
  await ns.client.request(`/api/v1/namespaces/${ns.name}/configmaps`, {
    method: "POST",
    body: { metadata: { name: "gw-lacquer" }, data: { [MAIN_VCL_KEY]: VCL, [ROUTING_JSON_KEY]: ROUTING } },
  });
  await putSecret(ns, {
    [tlsBundleKey("port-https", "a")]: bundle(a),
    [tlsBundleKey("port-https", "any")]: bundle(fallback),
    [tlsBundleKey("port-https")]: bundle(fallback),
  });
  // hitch through a wrapper that refuses to start while a file exists, so that hitch can be kept down for as long as
  // the test needs to see /readyz answer 503
  const hitchBlocked = `${certDir}/hitch-blocked`;
  const hitchWrapper = `${certDir}/hitch`;
  await Deno.writeTextFile(hitchWrapper, `#!/bin/sh\n[ -e "${hitchBlocked}" ] && exit 1\nexec hitch "$@"\n`, {
    mode: 0o755,
  });
  const config = { tlsListen: [`port-https=127.0.0.1:${httpsPort}`], hitch: hitchWrapper };
  await withTestChaperone(ns, { workDir, level: "debug", config }, async ({ chaperone, lines }) => {
    const hitch = chaperone.hitches.get("port-https")!;
    const readyz = async () => (await chaperone.handler(new Request("http://admin/readyz"))).status;
    await t.step(
      "a request with SNI gets that name's certificate and reaches varnishd's socket of the listener",
      async () => {
        await eventually(async () => equal(await readyz(), 200), { timeoutMs: 30_000 });
        equal(
          await httpsGet(httpsPort, "a.example.com", a.certFile),
          "200 socket=port-https host=a.example.com:" +
            `${httpsPort} tls=true`,
        );
      },
    );
    await t.step("a name no certificate lists gets the default certificate", async () => {
      match(await httpsGet(httpsPort, "b.example.com", fallback.certFile), /^200 socket=port-https/);
    });
    await t.step("the certificate files are private to the chaperone", async () => {
      equal((await Deno.stat(`${workDir}/tls/port-https/port-https.a.pem`)).mode! & 0o777, 0o600);
    });
    await t.step("a rotated certificate is served after a reload, without restarting hitch", async () => {
      const rotated = await selfSignedCertificate(certDir, "a2", ["a.example.com"]);
      await putSecret(ns, {
        [tlsBundleKey("port-https", "a")]: bundle(rotated),
        [tlsBundleKey("port-https")]: bundle(fallback),
      });
      await eventually(async () => match(await httpsGet(httpsPort, "a.example.com", rotated.certFile), /^200 /));
      equal(hitch.starts, 1);
      ok(hitch.reloads >= 1);
      const metrics = await (await chaperone.handler(new Request("http://admin/metrics"))).text();
      match(metrics, /^lacquer_chaperone_hitch_up\{socket="port-https"\} 1$/m);
      match(metrics, /^lacquer_chaperone_hitch_reloads_total\{socket="port-https"\} [1-9]/m);
      ok(!Deno.readDirSync(`${workDir}/tls/port-https`).some((e) => e.name === "port-https.any.pem"));
    });
    await t.step("a bundle whose key and certificate do not match is skipped, the others keep serving", async () => {
      const other = await selfSignedCertificate(certDir, "other", ["a.example.com"]);
      await putSecret(ns, {
        [tlsBundleKey("port-https", "a")]: Buffer.from(a.key + other.cert).toString("base64"),
        [tlsBundleKey("port-https")]: bundle(fallback),
      });
      // a.example.com now gets the default certificate, *.example.com.
      await eventually(async () => match(await httpsGet(httpsPort, "a.example.com", fallback.certFile), /^200 /));
      equal(await readyz(), 200);
      ok(lines.some((line) => line.includes("TLS certificate skipped")));
    });
    await t.step("hitch is restarted when it dies, and /readyz follows it: 503 while it is down", async () => {
      await Deno.writeTextFile(hitchBlocked, "");
      hitch.signal("SIGKILL");
      await eventually(() => ok(hitch.starts >= 3, `starts: ${hitch.starts}`), { timeoutMs: 10_000 });
      // Each refused start is "starting" and then "backoff"; a start's up check may briefly see the port of the killed
      // hitch's worker still open, so readiness is judged once it settles.
      await eventually(async () => {
        const response = await chaperone.handler(new Request("http://admin/readyz"));
        const body = await response.json();
        equal(response.status, 503);
        ok(body.hitch["port-https"] !== "running", JSON.stringify(body));
      }, { timeoutMs: 10_000 });
      await Deno.remove(hitchBlocked);
      await eventually(async () => equal(await readyz(), 200), { timeoutMs: 30_000 });
      await eventually(async () => match(await httpsGet(httpsPort, "b.example.com", fallback.certFile), /^200 /));
    });
  });
});
