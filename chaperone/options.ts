/**
 * The chaperone's configuration: every flag with its environment variable, and the zod schema that turns the raw
 * strings into a typed {@linkcode ChaperoneConfig}. Pure.
 *
 * @module
 */
import { z } from "zod";
import { listenAddressSchema } from "../internal/listen_address.ts";
import {
  ADMIN_TOKEN_PATH,
  CHAPERONE_ADMIN_PORT,
  GHOST_CONTROL_PORT,
  GHOST_SOCKET_NAME,
  VARNISH_CLI_PORT,
} from "../internal/names.ts";

/** One chaperone flag: its commander spelling, environment variable, help text and default. */
export interface ChaperoneFlag {
  /** The key in the raw options object (commander's camelCase of the long flag). */
  key: string;
  /** The flag as commander spells it, e.g. `--namespace <name>`. */
  flags: string;
  /** The environment variable read when the flag is absent. */
  env: string;
  /** Help text. */
  description: string;
  /** May be given several times (values collect into a list); the variable is split with this pattern. */
  repeatable?: RegExp;
}

/** Every flag of `lacquer chaperone`, in help order. */
export const CHAPERONE_FLAGS: readonly ChaperoneFlag[] = [
  {
    key: "namespace",
    flags: "--namespace <name>",
    env: "POD_NAMESPACE",
    description: "namespace of the pod and its ConfigMap (required)",
  },
  {
    key: "configmap",
    flags: "--configmap <name>",
    env: "LACQUER_CONFIGMAP",
    description: "ConfigMap with main.vcl and routing.json, <gateway>-lacquer (required)",
  },
  {
    key: "podName",
    flags: "--pod-name <name>",
    env: "POD_NAME",
    description: "own Pod name; the applied-config annotations go on it (none when absent)",
  },
  {
    key: "podIp",
    flags: "--pod-ip <address>",
    env: "POD_IP",
    description: "own Pod IP: where other gateway pods reach this one's peer listener (clustered cache only)",
  },
  {
    key: "listen",
    flags: "--listen <socket=[host]:port>",
    env: "LACQUER_LISTEN",
    description: "a varnishd listener, named as routing.json's listeners[].socket, e.g. port-80=:80 (repeatable)",
    repeatable: /[\s,]+/,
  },
  {
    key: "tlsListen",
    flags: "--tls-listen <socket=[host]:port>",
    env: "LACQUER_TLS_LISTEN",
    description: "an HTTPS listener: hitch terminates TLS there and forwards to varnishd socket <socket> (repeatable)",
    repeatable: /[\s,]+/,
  },
  {
    key: "tlsSecret",
    flags: "--tls-secret <name>",
    env: "LACQUER_TLS_SECRET",
    description: "Secret with the HTTPS listeners' certificates (default: the ConfigMap name plus -tls)",
  },
  {
    key: "backendClientSecret",
    flags: "--backend-client-secret <name>",
    env: "LACQUER_BACKEND_CLIENT_SECRET",
    description: "Secret with the Gateway's backend client certificate (backend-client.crt and .key), presented to " +
      "TLS backends",
  },
  {
    key: "hitch",
    flags: "--hitch <path>",
    env: "LACQUER_HITCH",
    description: "hitch executable (default: hitch)",
  },
  {
    key: "storage",
    flags: "--storage <spec>",
    env: "LACQUER_STORAGE",
    description: "varnishd -s storage (default: malloc,256m)",
  },
  {
    key: "varnishdArg",
    flags: "--varnishd-arg <arg>",
    env: "LACQUER_VARNISHD_ARGS",
    description: "extra varnishd argument such as -p or -t (repeatable; flags chaperone owns are rejected)",
    repeatable: /\s+/,
  },
  {
    key: "workDir",
    flags: "--work-dir <dir>",
    env: "LACQUER_WORK_DIR",
    description: "directory for ghost.json, the CLI secret and varnishd's -n (default: /var/run/lacquer)",
  },
  {
    key: "adminAddress",
    flags: "--admin-address <[host]:port>",
    env: "LACQUER_ADMIN_ADDRESS",
    description: `admin HTTP address (default: 0.0.0.0:${CHAPERONE_ADMIN_PORT})`,
  },
  {
    key: "cliPort",
    flags: "--cli-port <port>",
    env: "LACQUER_CLI_PORT",
    description: `Varnish CLI port on 127.0.0.1 (default: ${VARNISH_CLI_PORT})`,
  },
  {
    key: "ghostPort",
    flags: "--ghost-port <port>",
    env: "LACQUER_GHOST_PORT",
    description: `ghost control socket port on 127.0.0.1 (default: ${GHOST_CONTROL_PORT})`,
  },
  {
    key: "keeperSocket",
    flags: "--keeper-socket <path>",
    env: "LACQUER_KEEPER_SOCKET",
    description: "Unix socket of the pod's socket keeper, which holds the listening sockets across varnishd restarts " +
      "(default: none, varnishd binds its own)",
  },
  {
    key: "varnishd",
    flags: "--varnishd <path>",
    env: "LACQUER_VARNISHD",
    description: "varnishd executable (default: varnishd)",
  },
  {
    key: "varnishstat",
    flags: "--varnishstat <path>",
    env: "LACQUER_VARNISHSTAT",
    description: "varnishstat executable (default: varnishstat)",
  },
  {
    key: "varnishncsa",
    flags: "--varnishncsa <path>",
    env: "LACQUER_VARNISHNCSA",
    description: "varnishncsa executable, which reads the access log (default: varnishncsa)",
  },
  {
    key: "accessLogSample",
    flags: "--access-log-sample <share>",
    env: "LACQUER_ACCESS_LOG_SAMPLE",
    description: "share of requests written to the JSON access log on stdout, 0 (off) to 1 (default: 1)",
  },
  {
    key: "http2",
    flags: "--http2 <bool>",
    env: "LACQUER_HTTP2",
    description: "serve HTTP/2 on HTTPS listeners (ALPN h2) and h2c; Varnish 7.1.1 lacks the rapid-reset fixes " +
      "(default: false)",
  },
  {
    key: "vmodPath",
    flags: "--vmod-path <dirs>",
    env: "LACQUER_VMOD_PATH",
    description: "varnishd vmod_path, colon-separated (default: varnishd's own)",
  },
  {
    key: "kubeconfig",
    flags: "--kubeconfig <file>",
    env: "KUBECONFIG",
    description: "kubeconfig file (default: in-cluster service account)",
  },
  {
    key: "adminTokenFile",
    flags: "--admin-token-file <path>",
    env: "LACQUER_ADMIN_TOKEN_FILE",
    description:
      `file with the bearer token /invalidate and /drain require, re-read when it changes (default: ${ADMIN_TOKEN_PATH}; no file: both are refused)`,
  },
  {
    key: "drainSeconds",
    flags: "--drain-seconds <s>",
    env: "LACQUER_DRAIN_SECONDS",
    description: "longest wait for connections to drain after SIGTERM or /drain (default: 20)",
  },
  {
    key: "coalesceMs",
    flags: "--coalesce-ms <ms>",
    env: "LACQUER_COALESCE_MS",
    description:
      "how long a burst of changes is collected before one sync (default: 0: at once; changes that arrive during a sync are taken together by the next)",
  },
  {
    key: "keepVcls",
    flags: "--keep-vcls <n>",
    env: "LACQUER_KEEP_VCLS",
    description: "inactive VCLs kept loaded for rollback (default: 2)",
  },
  {
    key: "maxRestarts",
    flags: "--max-restarts <n>",
    env: "LACQUER_MAX_RESTARTS",
    description: "varnishd failures within 5 minutes before chaperone gives up (default: 5)",
  },
];

/** Flags that chaperone sets itself and that extra varnishd arguments may not repeat. */
export const OWNED_VARNISHD_FLAGS = [
  "-a",
  "-b",
  "-C",
  "-d",
  "-F",
  "-f",
  "-I",
  "-M",
  "-n",
  "-S",
  "-T",
  "-V",
  "-x",
  "-?",
];

const SOCKET_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

const listenerSchema = z.string().transform((value, ctx) => {
  const match = /^([^=]+)=(.*):(\d+)$/.exec(value);
  if (!match || !SOCKET_NAME.test(match[1]) || Number(match[3]) < 1 || Number(match[3]) > 65535) {
    ctx.addIssue({ code: "custom", message: `listener "${value}" must look like port-80=:80 or name=host:port` });
    return z.NEVER;
  }
  if (match[1] === GHOST_SOCKET_NAME) {
    ctx.addIssue({ code: "custom", message: `listener name "${GHOST_SOCKET_NAME}" is reserved for the ghost socket` });
    return z.NEVER;
  }
  return { name: match[1], host: match[2], port: Number(match[3]) };
});

const port = z.coerce.number().int().min(1).max(65535);

/** The schema of the chaperone's configuration; input is the raw flag/environment strings. */
export const chaperoneConfigSchema = z.object({
  namespace: z.string({ error: "--namespace (or POD_NAMESPACE) is required" }).min(1),
  configmap: z.string({ error: "--configmap (or LACQUER_CONFIGMAP) is required" }).min(1),
  podName: z.string().min(1).optional(),
  podIp: z.union([z.ipv4(), z.ipv6()], { error: "--pod-ip (or POD_IP) must be an IP address" }).optional(),
  listen: z.array(listenerSchema).default([]),
  tlsListen: z.array(listenerSchema).default([]),
  tlsSecret: z.string().min(1).optional(),
  backendClientSecret: z.string().min(1).optional(),
  hitch: z.string().min(1).default("hitch"),
  storage: z.string().min(1).default("malloc,256m"),
  varnishdArg: z.array(z.string()).default([]).refine(
    (args) => !args.some((a) => OWNED_VARNISHD_FLAGS.includes(a.slice(0, 2))),
    `extra varnishd arguments may not use flags chaperone owns (${OWNED_VARNISHD_FLAGS.join(" ")})`,
  ),
  workDir: z.string().min(1).default("/var/run/lacquer"),
  adminAddress: listenAddressSchema.prefault(`0.0.0.0:${CHAPERONE_ADMIN_PORT}`),
  cliPort: port.default(VARNISH_CLI_PORT),
  ghostPort: port.default(GHOST_CONTROL_PORT),
  keeperSocket: z.string().min(1).optional(),
  varnishd: z.string().min(1).default("varnishd"),
  varnishstat: z.string().min(1).default("varnishstat"),
  varnishncsa: z.string().min(1).default("varnishncsa"),
  accessLogSample: z.coerce.number().min(0).max(1).default(1),
  http2: z.stringbool().default(false),
  vmodPath: z.string().min(1).optional(),
  kubeconfig: z.string().min(1).optional(),
  adminTokenFile: z.string().min(1).default(ADMIN_TOKEN_PATH),
  drainSeconds: z.coerce.number().min(0).max(3600).default(20),
  coalesceMs: z.coerce.number().int().min(0).max(10_000).default(0),
  keepVcls: z.coerce.number().int().min(0).max(100).default(2),
  maxRestarts: z.coerce.number().int().min(1).max(1000).default(5),
}).refine(
  (c) => new Set([...c.listen, ...c.tlsListen].map((l) => l.name)).size === c.listen.length + c.tlsListen.length,
  { message: "listener names must be unique", path: ["listen"] },
).transform((c) => ({ ...c, tlsSecret: c.tlsSecret ?? `${c.configmap}-tls` }));

/** The validated configuration of `lacquer chaperone`. */
export type ChaperoneConfig = z.output<typeof chaperoneConfigSchema>;

/** A listener socket of varnishd. */
export type ListenerSocket = ChaperoneConfig["listen"][number];

/**
 * Fills absent flags from their environment variables; repeatable ones are split (listeners on commas or
 * whitespace, varnishd arguments on whitespace).
 *
 * @example Usage
 * ```ts
 * import { withEnvironment } from "./options.ts";
 * withEnvironment({}, { POD_NAMESPACE: "default", LACQUER_LISTEN: "port-80=:80,port-81=:81" });
 * // { namespace: "default", listen: ["port-80=:80", "port-81=:81"] }
 * ```
 *
 * @param flags The values given as flags (commander's output).
 * @param env The environment.
 * @returns The raw values, flags winning over the environment.
 */
export function withEnvironment(
  flags: Record<string, unknown>,
  env: Record<string, string | undefined>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const flag of CHAPERONE_FLAGS) {
    const given = flags[flag.key];
    if (given !== undefined && !(Array.isArray(given) && given.length === 0)) {
      out[flag.key] = given;
      continue;
    }
    const value = env[flag.env];
    if (value === undefined || value === "") continue;
    out[flag.key] = flag.repeatable ? value.split(flag.repeatable).filter((v) => v !== "") : value;
  }
  return out;
}
