/**
 * TLS termination with hitch, the pure part: which certificate bundles of the TLS Secret a socket serves, the
 * loopback ports varnishd takes hitch's connections on, and hitch's configuration file.
 *
 * @module
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { GHOST_CONTROL_PORT, VARNISH_CLI_PORT } from "../internal/names.ts";
import type { ListenerSocket } from "./options.ts";

/** One certificate bundle: a private key and its certificate chain, PEM, as hitch reads them from one file. */
export interface TlsBundle {
  /** The TLS Secret key it came from; the file name too. */
  name: string;
  /** The PEM text. */
  pem: string;
}

/**
 * Selects the certificate bundles one TLS socket serves from the data of the TLS Secret (keys
 * `<socket>.<listener>.pem`, and `<socket>.pem` for the default, see `tlsBundleKey` in `internal/names.ts`), in the
 * order hitch must load them: by key, with the default last, because hitch serves the last certificate to a
 * client whose SNI matches none. A bundle whose text repeats an earlier one is left out (listeners often share a
 * Secret, and hitch warns about certificates loaded twice).
 *
 * @example Usage
 * ```ts
 * import { selectTlsBundles } from "./hitch_config.ts";
 * selectTlsBundles({ "port-443.a.pem": "A", "port-443.b.pem": "B", "port-443.pem": "A" }, "port-443");
 * // [{ name: "port-443.b.pem", pem: "B" }, { name: "port-443.pem", pem: "A" }]
 * ```
 *
 * @param data The decoded Secret data.
 * @param socket The socket name, e.g. `port-443`.
 * @returns The bundles; empty when the Secret holds none for this socket.
 */
export function selectTlsBundles(data: Readonly<Record<string, string>>, socket: string): TlsBundle[] {
  const defaultKey = `${socket}.pem`;
  const keys = Object.keys(data)
    .filter((k) => k !== defaultKey && k.startsWith(`${socket}.`) && k.endsWith(".pem"))
    .sort();
  if (data[defaultKey] !== undefined) keys.push(defaultKey);
  else if (keys.length === 0) return [];
  const ordered = keys.map((name) => ({ name, pem: data[name] }));
  // The default goes last: when its text repeats an earlier bundle, keep the later copy.
  return ordered.filter((bundle, i) => !ordered.slice(i + 1).some((later) => later.pem === bundle.pem));
}

/**
 * Checks that a bundle holds a private key and a certificate that belongs to it, as hitch requires: one bad
 * bundle would keep hitch from starting, and with it every certificate of the listener port.
 *
 * @example Usage
 * ```ts
 * import { tlsBundleProblem } from "./hitch_config.ts";
 * tlsBundleProblem("not a PEM"); // "it holds no private key"
 * ```
 *
 * @param pem The bundle text.
 * @returns Why it is unusable, or undefined when it is fine.
 */
export function tlsBundleProblem(pem: string): string | undefined {
  const key = /-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/.exec(pem)?.[0];
  if (key === undefined) return "it holds no private key";
  const cert = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(pem)?.[0];
  if (cert === undefined) return "it holds no certificate";
  try {
    if (!new X509Certificate(cert).checkPrivateKey(createPrivateKey(key))) {
      return "its first certificate does not belong to its private key";
    }
  } catch (err) {
    return `it does not parse: ${(err as Error).message}`;
  }
  return undefined;
}

/** The bundles a socket can serve, and those left out because {@linkcode tlsBundleProblem} found them unusable. */
export interface UsableTlsBundles {
  /** The usable bundles, in load order. */
  bundles: TlsBundle[];
  /** The Secret keys left out, with why. */
  skipped: { key: string; problem: string }[];
}

/**
 * Selects the bundles of a socket ({@linkcode selectTlsBundles}) and leaves out those hitch could not load, so that
 * one bad certificate cannot keep hitch, and every other certificate of the port, down.
 *
 * @example Usage
 * ```ts
 * import { usableTlsBundles } from "./hitch_config.ts";
 * usableTlsBundles({ "port-443.pem": "not a PEM" }, "port-443");
 * // { bundles: [], skipped: [{ key: "port-443.pem", problem: "it holds no private key" }] }
 * ```
 *
 * @param data The decoded Secret data.
 * @param socket The socket name, e.g. `port-443`.
 * @returns The usable bundles and the skipped keys.
 */
export function usableTlsBundles(data: Readonly<Record<string, string>>, socket: string): UsableTlsBundles {
  const result: UsableTlsBundles = { bundles: [], skipped: [] };
  for (const bundle of selectTlsBundles(data, socket)) {
    const problem = tlsBundleProblem(bundle.pem);
    if (problem === undefined) result.bundles.push(bundle);
    else result.skipped.push({ key: bundle.name, problem });
  }
  return result;
}

/** Options of {@linkcode tlsBackendPorts}. */
export interface TlsBackendPortsOptions {
  /** Ports that are taken anyway (listener ports, the admin port). */
  taken?: readonly number[];
  /** The first port tried. @default {6100} */
  first?: number;
}

/**
 * Chooses, for every TLS socket, the loopback port on which varnishd accepts hitch's PROXY connections: the lowest
 * ports from `first` up that no listener, the Varnish CLI, the ghost control socket or `taken` uses.
 *
 * @example Usage
 * ```ts
 * import { tlsBackendPorts } from "./hitch_config.ts";
 * tlsBackendPorts([{ name: "port-443", host: "", port: 443 }], { taken: [6100] });
 * // Map { "port-443" => 6101 }
 * ```
 *
 * @param tlsSockets The TLS sockets, in flag order.
 * @param options Ports to avoid and where to start.
 * @returns The port of each socket name.
 */
export function tlsBackendPorts(
  tlsSockets: readonly ListenerSocket[],
  options: TlsBackendPortsOptions = {},
): Map<string, number> {
  const taken = new Set([
    VARNISH_CLI_PORT,
    GHOST_CONTROL_PORT,
    ...tlsSockets.map((s) => s.port),
    ...(options.taken ?? []),
  ]);
  const ports = new Map<string, number>();
  let port = options.first ?? 6100;
  for (const socket of tlsSockets) {
    while (taken.has(port)) port++;
    ports.set(socket.name, port);
    taken.add(port);
  }
  return ports;
}

/** Options of {@linkcode hitchConfig}. */
export interface HitchConfigOptions {
  /** The listener hitch terminates TLS for (its host and port). */
  frontend: ListenerSocket;
  /** The loopback port of varnishd's PROXY socket for it. */
  backendPort: number;
  /** The bundle files, in load order (the last one is the default). */
  pemFiles: readonly string[];
  /** hitch's OCSP staple directory. */
  ocspDir: string;
  /** Worker processes. @default {1} */
  workers?: number;
  /** The user hitch's workers run as; hitch refuses to run them as root. @default {none: hitch's own user} */
  user?: string;
  /** Offer HTTP/2 (ALPN `h2`) before HTTP/1.1; varnishd must then run with `-p feature=+http2`. @default {false} */
  http2?: boolean;
  /** Verify client certificates against the CA file: `required` refuses clients without a valid one. @default {none} */
  clientVerify?: ClientVerify;
}

/** How hitch verifies client certificates on a socket. */
export interface ClientVerify {
  /**
   * `required`: only clients with a certificate the CAs signed are served (AllowValidOnly); `optional`: every client
   * is served, with or without a certificate, valid or not (AllowInsecureFallback: hitch's `optional-no-ca`, a
   * setting of Lacquer's patched hitch, `images/hitch/`).
   */
  mode: "required" | "optional";
  /** The file with the CA certificates (PEM). */
  caFile: string;
}

function quote(value: string): string {
  if (/["\\\n]/.test(value)) throw new RangeError(`Cannot quote "${value}" for hitch: it holds a quote or newline`);
  return `"${value}"`;
}

/**
 * Builds hitch's configuration file for one TLS listener: the frontend on the listener's address, TLS 1.2 and
 * 1.3, ALPN `http/1.1` (with `http2`, `h2` first), and each connection forwarded to varnishd on loopback with a
 * PROXY v2 header, so that varnishd sees the client's address and routes by the listener's socket name; hitch's
 * default TLVs in that header carry the client's TLS server name, which ghost compares with the Host (421). With
 * `clientVerify`, hitch asks clients for a certificate issued by the CA file's CAs and verifies it (`optional`
 * serves the clients whose verification fails too, recording the result in the PROXY header's SSL TLV): hitch's process
 * serves one socket, so the settings are global and apply to every certificate of the socket (a `frontend` block's
 * own `client-verify` applies only to that block's `pem-file`s, which SNI would not pick from).
 *
 * @example Usage
 * ```ts
 * import { hitchConfig } from "./hitch_config.ts";
 * hitchConfig({
 *   frontend: { name: "port-443", host: "", port: 443 },
 *   backendPort: 6100,
 *   pemFiles: ["/var/run/lacquer/tls/port-443/port-443.pem"],
 *   ocspDir: "/var/run/lacquer/tls/ocsp",
 * });
 * ```
 *
 * @param options The listener, the backend port and the certificate files.
 * @returns The configuration text.
 * @throws {RangeError} When there is no certificate file (hitch cannot start without one).
 */
export function hitchConfig(options: HitchConfigOptions): string {
  if (options.pemFiles.length === 0) {
    throw new RangeError(`Cannot configure hitch for "${options.frontend.name}": no certificate file`);
  }
  const host = options.frontend.host === "" ? "*" : options.frontend.host.replace(/^\[(.*)\]$/, "$1");
  const lines = [
    `# hitch for listener socket ${options.frontend.name}, written by lacquer chaperone`,
    "frontend = {",
    `  host = ${quote(host)}`,
    `  port = "${options.frontend.port}"`,
    "}",
    `backend = "[127.0.0.1]:${options.backendPort}"`,
    "write-proxy-v2 = on",
    `alpn-protos = "${options.http2 ? "h2, http/1.1" : "http/1.1"}"`,
    "tls-protos = TLSv1.2 TLSv1.3",
    `workers = ${options.workers ?? 1}`,
    "daemon = off",
    "log-level = 1",
    `ocsp-dir = ${quote(options.ocspDir)}`,
    ...(options.user === undefined ? [] : [`user = ${quote(options.user)}`]),
    ...(options.clientVerify === undefined ? [] : [
      `client-verify = ${options.clientVerify.mode === "optional" ? "optional-no-ca" : "required"}`,
      `client-verify-ca = ${quote(options.clientVerify.caFile)}`,
    ]),
    ...options.pemFiles.map((file) => `pem-file = ${quote(file)}`),
  ];
  return lines.join("\n") + "\n";
}
