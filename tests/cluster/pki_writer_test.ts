import { ok } from "node:assert/strict";
import { runCommand } from "./run_command.ts";
import { kubeconfigYaml, selfSignedCertificate, writePki } from "./pki_writer.ts";

Deno.test("writePki() writes X.509 v3 certificates with the requested IP SANs", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const pki = await writePki(dir, { apiserverIps: ["10.244.0.1"], kubeletIps: ["10.244.0.1"], nodeName: "n1" });
    for (const cert of [pki.caCert, pki.apiserverCert, pki.adminCert, pki.kubeletCert]) {
      const text = (await runCommand("openssl", { args: ["x509", "-noout", "-text", "-in", cert] })).stdout;
      ok(text.includes("Version: 3 (0x2)"), `${cert} is v3`);
    }
    const server =
      (await runCommand("openssl", { args: ["x509", "-noout", "-text", "-in", pki.apiserverCert] })).stdout;
    ok(server.includes("IP Address:10.244.0.1") && server.includes("DNS:kubernetes.default.svc"), server);
    await runCommand("openssl", { args: ["verify", "-CAfile", pki.caCert, pki.apiserverCert, pki.adminCert] });
    // the Node authorizer knows the kubelet by this subject
    const node = await runCommand("openssl", { args: ["x509", "-noout", "-subject", "-in", pki.nodeCert] });
    ok(node.stdout.includes("O = system:nodes, CN = system:node:n1"), node.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kubeconfigYaml() embeds the credentials", () => {
  const yaml = kubeconfigYaml({ server: "https://10.244.0.1:6443", ca: "CA", cert: "C", key: "K" });
  ok(yaml.includes(`certificate-authority-data: ${btoa("CA")}`));
  ok(yaml.includes("current-context: lacquer"));
});

Deno.test("selfSignedCertificate() writes a key and a v3 certificate for every name", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const c = await selfSignedCertificate(dir, "site", ["a.example.com", "*.b.example.com"]);
    ok(c.key.includes("PRIVATE KEY") && c.cert.includes("BEGIN CERTIFICATE"));
    const text = (await runCommand("openssl", { args: ["x509", "-noout", "-text", "-in", c.certFile] })).stdout;
    ok(text.includes("Subject: CN = a.example.com") && text.includes("DNS:a.example.com, DNS:*.b.example.com"), text);
    ok((await Deno.readTextFile(c.keyFile)) === c.key);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
