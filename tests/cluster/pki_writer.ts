/**
 * Writes the cluster's certificates and keys with openssl: a CA, the API server and kubelet serving certificates,
 * client certificates (admin, controller manager, API server → kubelet, and the real node's kubelet, kube-proxy and
 * scheduler, which the API server's Node authorizer and bootstrap RBAC know by these names) and the service-account
 * signing key.
 * Every certificate is X.509 v3 with SANs, because rustls (Deno's TLS) rejects v1 certificates.
 *
 * @module
 */
import { runCommand } from "./run_command.ts";

/** Paths of the written material, all inside the PKI directory. */
export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  apiserverCert: string;
  apiserverKey: string;
  kubeletCert: string;
  kubeletKey: string;
  adminCert: string;
  adminKey: string;
  controllerManagerCert: string;
  controllerManagerKey: string;
  kubeletClientCert: string;
  kubeletClientKey: string;
  /** The kubelet's client certificate (`system:node:<node>` in `system:nodes`). */
  nodeCert: string;
  nodeKey: string;
  kubeProxyCert: string;
  kubeProxyKey: string;
  schedulerCert: string;
  schedulerKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

/** Options for {@linkcode writePki}. */
export interface WritePkiOptions {
  /** IP SANs of the API server certificate. */
  apiserverIps: string[];
  /** IP SANs of the kubelet serving certificate. */
  kubeletIps: string[];
  /** The Node's name, for the kubelet's client certificate. */
  nodeName: string;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  await runCommand("openssl", { args, cwd: dir });
}

/** openssl arguments for a new unencrypted P-256 key. */
const NEW_EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** A self-signed certificate and its key, as PEM text and as files. */
export interface SelfSignedCertificate {
  /** The certificate (PEM). */
  cert: string;
  /** The private key (PEM). */
  key: string;
  /** `<dir>/<name>.crt`. */
  certFile: string;
  /** `<dir>/<name>.key`. */
  keyFile: string;
}

/**
 * Writes a self-signed P-256 certificate for test servers: subject CN the first name, every name a DNS SAN, valid two
 * days. Written as `<dir>/<name>.crt` and `<dir>/<name>.key`.
 *
 * @example Usage
 * ```ts ignore
 * import { selfSignedCertificate } from "./pki_writer.ts";
 * const { cert, key } = await selfSignedCertificate(await Deno.makeTempDir(), "site", ["a.example.com"]);
 * ```
 *
 * @param dir An existing directory.
 * @param name The file name stem.
 * @param dnsNames The names the certificate is for (at least one).
 * @returns The certificate.
 */
export async function selfSignedCertificate(
  dir: string,
  name: string,
  dnsNames: readonly string[],
): Promise<SelfSignedCertificate> {
  const certFile = `${dir}/${name}.crt`;
  const keyFile = `${dir}/${name}.key`;
  await openssl(dir, [
    "req",
    "-x509",
    ...NEW_EC_KEY,
    "-keyout",
    keyFile,
    "-out",
    certFile,
    "-days",
    "2",
    "-subj",
    `/CN=${dnsNames[0]}`,
    "-addext",
    `subjectAltName=${dnsNames.map((n) => `DNS:${n}`).join(",")}`,
  ]);
  return { cert: await Deno.readTextFile(certFile), key: await Deno.readTextFile(keyFile), certFile, keyFile };
}

async function leaf(
  dir: string,
  name: string,
  subject: string,
  ext: string[],
): Promise<void> {
  await Deno.writeTextFile(`${dir}/${name}.ext`, ext.join("\n") + "\n");
  await openssl(dir, [
    "req",
    "-new",
    ...NEW_EC_KEY,
    "-keyout",
    `${name}.key`,
    "-subj",
    subject,
    "-out",
    `${name}.csr`,
  ]);
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-set_serial",
    String(Date.now() * 1000 + Math.floor(Math.random() * 1000)),
    "-days",
    "3650",
    "-extfile",
    `${name}.ext`,
    "-out",
    `${name}.crt`,
  ]);
}

/**
 * Creates `dir` and writes the PKI into it.
 *
 * @param dir Target directory (created).
 * @param options The SANs.
 * @returns The paths.
 */
export async function writePki(dir: string, options: WritePkiOptions): Promise<Pki> {
  await Deno.mkdir(dir, { recursive: true });
  await openssl(dir, [
    "req",
    "-x509",
    ...NEW_EC_KEY,
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "3650",
    "-subj",
    "/CN=lacquer-local-ca",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
  ]);
  const server = (ips: string[], dns: string[]) => [
    "basicConstraints=critical,CA:FALSE",
    "keyUsage=critical,digitalSignature",
    "extendedKeyUsage=serverAuth",
    "subjectAltName=" + [...ips.map((ip) => `IP:${ip}`), ...dns.map((d) => `DNS:${d}`)].join(","),
  ];
  const client = [
    "basicConstraints=critical,CA:FALSE",
    "keyUsage=critical,digitalSignature",
    "extendedKeyUsage=clientAuth",
  ];
  await Promise.all([
    leaf(
      dir,
      "apiserver",
      "/CN=kube-apiserver",
      server(options.apiserverIps, [
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
      ]),
    ),
    leaf(dir, "kubelet", "/CN=lacquer-kubelet", server(options.kubeletIps, ["localhost"])),
    leaf(dir, "admin", "/O=system:masters/CN=lacquer-admin", client),
    leaf(dir, "controller-manager", "/O=system:masters/CN=system:kube-controller-manager", client),
    leaf(dir, "kubelet-client", "/O=system:masters/CN=kube-apiserver-kubelet-client", client),
    leaf(dir, "node", `/O=system:nodes/CN=system:node:${options.nodeName}`, client),
    leaf(dir, "kube-proxy", "/CN=system:kube-proxy", client),
    leaf(dir, "scheduler", "/CN=system:kube-scheduler", client),
    openssl(dir, ["ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", "sa.key"]),
  ]);
  await openssl(dir, ["ec", "-in", "sa.key", "-pubout", "-out", "sa.pub"]);
  const p = (f: string) => `${dir}/${f}`;
  return {
    dir,
    caCert: p("ca.crt"),
    caKey: p("ca.key"),
    apiserverCert: p("apiserver.crt"),
    apiserverKey: p("apiserver.key"),
    kubeletCert: p("kubelet.crt"),
    kubeletKey: p("kubelet.key"),
    adminCert: p("admin.crt"),
    adminKey: p("admin.key"),
    controllerManagerCert: p("controller-manager.crt"),
    controllerManagerKey: p("controller-manager.key"),
    kubeletClientCert: p("kubelet-client.crt"),
    kubeletClientKey: p("kubelet-client.key"),
    nodeCert: p("node.crt"),
    nodeKey: p("node.key"),
    kubeProxyCert: p("kube-proxy.crt"),
    kubeProxyKey: p("kube-proxy.key"),
    schedulerCert: p("scheduler.crt"),
    schedulerKey: p("scheduler.key"),
    serviceAccountKey: p("sa.key"),
    serviceAccountPub: p("sa.pub"),
  };
}

/** Options for {@linkcode kubeconfigYaml}. */
export interface KubeconfigOptions {
  /** API server URL. */
  server: string;
  /** PEM of the CA. */
  ca: string;
  /** PEM of the client certificate. */
  cert: string;
  /** PEM of the client key. */
  key: string;
  /** User name in the file. @default {"admin"} */
  user?: string;
}

/**
 * Renders a kubeconfig with embedded certificate data. Pure.
 *
 * @example Usage
 * ```ts
 * import { kubeconfigYaml } from "./pki_writer.ts";
 * kubeconfigYaml({ server: "https://10.244.0.1:6443", ca: "CA", cert: "C", key: "K" }).includes("current-context");
 * ```
 *
 * @param options Server and credentials.
 * @returns The YAML text.
 */
export function kubeconfigYaml(options: KubeconfigOptions): string {
  const b64 = (s: string) => btoa(s);
  const user = options.user ?? "admin";
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: lacquer",
    "  cluster:",
    `    server: ${options.server}`,
    `    certificate-authority-data: ${b64(options.ca)}`,
    "users:",
    `- name: ${user}`,
    "  user:",
    `    client-certificate-data: ${b64(options.cert)}`,
    `    client-key-data: ${b64(options.key)}`,
    "contexts:",
    "- name: lacquer",
    "  context:",
    "    cluster: lacquer",
    `    user: ${user}`,
    "current-context: lacquer",
    "",
  ].join("\n");
}

/** A certificate authority for tests of client certificate validation (see {@linkcode testCertificateAuthority}). */
export interface TestCertificateAuthority {
  /** The CA certificate (PEM). */
  ca: string;
  /** `<dir>/<name>-ca.crt`. */
  caFile: string;
  /**
   * Issues a client certificate (extended key usage clientAuth, valid two days) as `<dir>/<name>-<client>.crt`
   * and `.key`.
   */
  issueClient(client: string): Promise<SelfSignedCertificate>;
  /**
   * Issues a server certificate (extended key usage serverAuth, valid two days) for subjectAltNames, DNS names or
   * URIs (those with `://`), as `<dir>/<name>-<server>.crt` and `.key`.
   */
  issueServer(server: string, names: readonly string[]): Promise<SelfSignedCertificate>;
}

/**
 * Writes a P-256 CA (valid two days) that issues client certificates, for tests of client certificate validation.
 *
 * @example Usage
 * ```ts ignore
 * import { testCertificateAuthority } from "./pki_writer.ts";
 * const ca = await testCertificateAuthority(await Deno.makeTempDir(), "clients");
 * const alice = await ca.issueClient("alice");
 * ```
 *
 * @param dir An existing directory.
 * @param name The file name stem, also the CA's common name.
 * @returns The CA.
 */
export async function testCertificateAuthority(dir: string, name: string): Promise<TestCertificateAuthority> {
  const caFile = `${dir}/${name}-ca.crt`;
  const caKey = `${dir}/${name}-ca.key`;
  await openssl(dir, [
    "req",
    "-x509",
    ...NEW_EC_KEY,
    "-keyout",
    caKey,
    "-out",
    caFile,
    "-days",
    "2",
    "-subj",
    `/CN=${name}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
  ]);
  const issue = async (subject: string, extensions: string): Promise<SelfSignedCertificate> => {
    const stem = `${dir}/${name}-${subject}`;
    await Deno.writeTextFile(`${stem}.ext`, `basicConstraints=critical,CA:FALSE\n${extensions}`);
    await openssl(dir, [
      "req",
      "-new",
      ...NEW_EC_KEY,
      "-keyout",
      `${stem}.key`,
      "-subj",
      `/CN=${subject}`,
      "-out",
      `${stem}.csr`,
    ]);
    await openssl(dir, [
      "x509",
      "-req",
      "-in",
      `${stem}.csr`,
      "-CA",
      caFile,
      "-CAkey",
      caKey,
      "-set_serial",
      String(Date.now() * 1000 + Math.floor(Math.random() * 1000)),
      "-days",
      "2",
      "-extfile",
      `${stem}.ext`,
      "-out",
      `${stem}.crt`,
    ]);
    return {
      cert: await Deno.readTextFile(`${stem}.crt`),
      key: await Deno.readTextFile(`${stem}.key`),
      certFile: `${stem}.crt`,
      keyFile: `${stem}.key`,
    };
  };
  return {
    ca: await Deno.readTextFile(caFile),
    caFile,
    issueClient: (client) => issue(client, "extendedKeyUsage=clientAuth\n"),
    issueServer: (server, names) =>
      issue(
        server,
        `extendedKeyUsage=serverAuth\nsubjectAltName=${
          names.map((n) => n.includes("://") ? `URI:${n}` : `DNS:${n}`).join(",")
        }\n`,
      ),
  };
}
