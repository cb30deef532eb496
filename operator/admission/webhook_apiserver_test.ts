import { deepEqual, equal, match, ok } from "node:assert/strict";
import { KubeApiError } from "../../internal/kube/mod.ts";
import { createLogger } from "../../internal/log.ts";
import { installLacquerCrds } from "../../tests/cluster/crd_installer.ts";
import { clusterAvailable, createTestNamespace, eventually, freePort, useCluster } from "../../tests/cluster/mod.ts";
import { type AdmissionWebhookOptions, runAdmissionWebhook, syncCertificates, WEBHOOK_PATH } from "./webhook.ts";

const GW = "gateway.networking.k8s.io";
const VWC = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations";

Deno.test({
  name: "the webhook refuses bad regexes, warns about unmatched hostnames, rotates its certificates and never blocks",
  ignore: !clusterAvailable(),
  async fn() {
    const cluster = await useCluster();
    await using ns = await createTestNamespace(cluster);
    await installLacquerCrds(ns.client);
    const port = freePort();
    const name = `${ns.name}-lacquer-admission`;
    const rule = (group: string, resource: string) => ({
      apiGroups: [group],
      apiVersions: ["*"],
      operations: ["CREATE", "UPDATE"],
      resources: [resource],
    });
    await ns.client.request(VWC, {
      method: "POST",
      body: {
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingWebhookConfiguration",
        metadata: { name },
        webhooks: [{
          name: "validate.lacquer.dev",
          clientConfig: { url: `https://127.0.0.1:${port}${WEBHOOK_PATH}` },
          rules: [rule(GW, "httproutes"), rule("lacquer.dev", "cachepolicies")],
          failurePolicy: "Ignore",
          timeoutSeconds: 3,
          sideEffects: "None",
          admissionReviewVersions: ["v1"],
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns.name } },
        }],
      },
    });
    const stop = new AbortController();
    const options: AdmissionWebhookOptions = {
      client: ns.client,
      log: createLogger({ level: "error" }),
      address: { hostname: "127.0.0.1", port },
      secret: { namespace: ns.name, name: "lacquer-webhook-tls" },
      configurationName: name,
      names: { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] },
      refreshMs: 200,
      signal: stop.signal,
    };
    const running = runAdmissionWebhook(options);
    try {
      await ns.client.request(`/apis/${GW}/v1/namespaces/${ns.name}/gateways`, {
        method: "POST",
        body: {
          apiVersion: `${GW}/v1`,
          kind: "Gateway",
          metadata: { name: "gw" },
          spec: {
            gatewayClassName: "x",
            listeners: [{ name: "http", port: 80, protocol: "HTTP", hostname: "*.example.com" }],
          },
        },
      });
      const routes = `/apis/${GW}/v1/namespaces/${ns.name}/httproutes`;
      const route = (routeName: string, spec: Record<string, unknown>) => ({
        apiVersion: `${GW}/v1`,
        kind: "HTTPRoute",
        metadata: { name: routeName },
        spec: { parentRefs: [{ name: "gw" }], ...spec },
      });
      const lookaround = route("lookaround", {
        rules: [{ matches: [{ path: { type: "RegularExpression", value: "/(?!admin).*" } }] }],
      });
      const refusal = async () => {
        const err = await ns.client.request(routes, { method: "POST", query: { dryRun: "All" }, body: lookaround })
          .then(() => undefined, (e: Error) => e);
        ok(err instanceof KubeApiError, "refused");
        return err.message;
      };
      // The configuration takes effect a moment after the CA bundle is in.
      await eventually(async () => {
        const config = await ns.client.request<{ webhooks: { clientConfig: { caBundle?: string } }[] }>(
          `${VWC}/${name}`,
        );
        ok(config.webhooks[0].clientConfig.caBundle);
        match(
          await refusal(),
          /spec\.rules\[0\]\.matches\[0\]\.path\.value: "\/\(\?!admin\)\.\*" is not a valid regular expression: lookaround is not supported/,
        );
      });
      // Header and query matches too; a Rust-only spelling passes.
      const header = route("header", {
        rules: [{
          matches: [{
            headers: [{ type: "RegularExpression", name: "x", value: "(a" }],
            queryParams: [{ type: "RegularExpression", name: "q", value: "(?P<n>\\d+)" }],
          }],
        }],
      });
      const headerErr = await ns.client.request(routes, { method: "POST", query: { dryRun: "All" }, body: header })
        .then(() => "", (e: Error) => e.message);
      match(headerErr, /spec\.rules\[0\]\.matches\[0\]\.headers\[0\]\.value: "\(a" is not a valid regular expression/);
      ok(!headerErr.includes("queryParams"), headerErr);

      // Hostnames no listener accepts: stored, with a warning the API server passes on (kubectl prints it).
      const elsewhere = await ns.client.fetch(routes, {
        method: "POST",
        body: route("elsewhere", { hostnames: ["shop.other.org"] }),
      });
      equal(elsewhere.status, 201, await elsewhere.clone().text());
      await elsewhere.body?.cancel();
      match(
        elsewhere.headers.get("warning") ?? "",
        /hostnames shop\.other\.org match no listener of Gateway .*\/gw \(http: \*\.example\.com\)/,
      );
      const api = { rules: [{ matches: [{ path: { type: "PathPrefix", value: "/api" } }] }] };
      const matching = await ns.client.fetch(routes, {
        method: "POST",
        body: route("matching", { hostnames: ["shop.example.com"], ...api }),
      });
      equal(matching.status, 201);
      await matching.body?.cancel();
      equal(matching.headers.get("warning"), null);
      // The same match on the same Gateway and hostnames in a newer route (or one as old, later by name): it never wins.
      const copy = await ns.client.fetch(routes, {
        method: "POST",
        body: route("zcopy", { hostnames: ["shop.example.com"], ...api }),
      });
      equal(copy.status, 201);
      await copy.body?.cancel();
      match(
        copy.headers.get("warning") ?? "",
        /also HTTPRoute matching's.*matching takes precedence .*so this rule never receives those requests/,
      );

      const policyErr = await ns.client.request(`/apis/lacquer.dev/v1alpha1/namespaces/${ns.name}/cachepolicies`, {
        method: "POST",
        query: { dryRun: "All" },
        body: {
          apiVersion: "lacquer.dev/v1alpha1",
          kind: "CachePolicy",
          metadata: { name: "p" },
          spec: {
            targetRefs: [{ group: GW, kind: "HTTPRoute", name: "matching" }],
            bypass: [{ header: { name: "x", valueRegex: "(?<=a)b" } }],
          },
        },
      }).then(() => "", (e: Error) => e.message);
      match(policyErr, /spec\.bypass\[0\]\.header\.valueRegex: "\(\?<=a\)b" is not a valid regular expression/);
      // Rotation: a CA that must be replaced (here: unreadable) gets a new CA and serving certificate; the webhook
      // switches to it, the bundle holds both CAs, and the API server keeps calling it.
      const secretPath = `/api/v1/namespaces/${ns.name}/secrets/lacquer-webhook-tls`;
      const before = await ns.client.request<{ data: Record<string, string> }>(secretPath);
      await ns.client.request(secretPath, {
        method: "PATCH",
        contentType: "application/merge-patch+json",
        body: { data: { "ca.crt": btoa("expired") } },
      });
      const renewed = await syncCertificates(options);
      ok(renewed.caBundle.includes(atob(before.data["ca.crt"]).trim()), "the previous CA stays trusted");
      const newCaOnly = Deno.createHttpClient({ caCerts: [renewed.caCert] });
      try {
        await eventually(async () => {
          const response = await fetch(`https://127.0.0.1:${port}${WEBHOOK_PATH}`, {
            client: newCaOnly,
            method: "POST",
            body: "{}",
          });
          equal(response.status, 400, "served with the new certificate");
          await response.body?.cancel();
        });
      } finally {
        newCaOnly.close();
      }
      const config = await ns.client.request<{ webhooks: { clientConfig: { caBundle: string } }[] }>(`${VWC}/${name}`);
      equal(atob(config.webhooks[0].clientConfig.caBundle), renewed.caBundle);
      match(await refusal(), /lookaround is not supported/);
      // Down: the same route is stored (failurePolicy Ignore), at once (connection refused, no wait for the timeout).
      stop.abort();
      await running;
      const started = Date.now();
      const stored = await ns.client.request<{ metadata: { name: string } }>(routes, {
        method: "POST",
        body: lookaround,
      });
      deepEqual(stored.metadata.name, "lookaround");
      ok(Date.now() - started < 3_000, `took ${Date.now() - started} ms`);
    } finally {
      stop.abort();
      await running;
      await ns.client.request(`${VWC}/${name}`, { method: "DELETE" });
    }
  },
});
