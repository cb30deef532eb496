/**
 * What GatewayParameters' `env` may not set. Whoever edits a GatewayParameters object must not get to run code in
 * the gateway pods or redirect them, and the gateway container's processes (the chaperone on Deno, varnishd, hitch,
 * gcc) read their own configuration and credentials from the environment: the dynamic loader's variables load code,
 * `KUBECONFIG` points the chaperone at another API server, `LACQUER_*` overrides the keeper socket, the admin token
 * file or the programs it runs, `DENO_*` changes the runtime's permissions and module loading. Such a name makes the
 * Gateway `InvalidParameters`, except the chaperone's tuning settings of {@linkcode ALLOWED_ENV}; the CRD refuses the
 * same names (`deploy/crds/lacquer.dev_gatewayparameters.yaml`, kept equal by `deploy/deploy_test.ts`). Pure.
 *
 * @module
 */

/** A group of refused variable names (`*` ends a prefix) and why they are refused. */
export interface RefusedEnv {
  /** Names, or prefixes ending in `*`. Compared without regard to case. */
  names: readonly string[];
  /** Why, as the end of the status message. */
  why: string;
}

/** Every variable GatewayParameters' `env` may not set. */
export const REFUSED_ENV: readonly RefusedEnv[] = [
  {
    names: ["LD_*", "GCONV_PATH", "GLIBC_TUNABLES", "OPENSSL_*"],
    why: "variables of the dynamic loader, the C library and OpenSSL load code into the pod's processes",
  },
  {
    names: ["LACQUER_*", "POD_NAME", "POD_NAMESPACE", "POD_IP"],
    why: "the chaperone's own settings (keeper socket, admin token file, Pod identity, programs it runs) are " +
      "Lacquer's",
  },
  {
    names: ["KUBECONFIG", "KUBERNETES_*"],
    why: "it would point the chaperone at another API server or credentials",
  },
  {
    names: ["DENO_*", "NODE_*"],
    why: "variables of the runtime change its permissions, module loading or trusted certificates",
  },
  {
    names: [
      "SSL_CERT_FILE",
      "SSL_CERT_DIR",
      "HTTP_PROXY",
      "HTTPS_PROXY",
      "ALL_PROXY",
      "HOSTALIASES",
      "LOCALDOMAIN",
      "RES_OPTIONS",
    ],
    why: "it changes which certificates the chaperone trusts or where its connections go",
  },
  {
    names: ["PATH", "HOME", "TMPDIR"],
    why: "the image sets it: which programs the chaperone and varnishd run and where they write",
  },
];

/**
 * The exceptions to {@linkcode REFUSED_ENV}: the chaperone's tuning settings, which neither run code nor point
 * anything elsewhere (see the chaperone's README).
 */
export const ALLOWED_ENV: readonly string[] = [
  "LACQUER_DRAIN_SECONDS",
  "LACQUER_COALESCE_MS",
  "LACQUER_KEEP_VCLS",
  "LACQUER_MAX_RESTARTS",
];

const patternOf = (names: readonly string[]) => names.map((n) => n.endsWith("*") ? `${n.slice(0, -1)}.*` : n).join("|");

/** The CRD's CEL rule on an `env` name: the same as {@linkcode envProblem}, in CEL. */
export const ENV_NAME_RULE: string = `!self.matches('^(?i)(${patternOf(REFUSED_ENV.flatMap((g) => g.names))})$') || ` +
  `self.matches('^(?i)(${patternOf(ALLOWED_ENV)})$')`;

const GROUPS = REFUSED_ENV.map((g) => ({ ...g, pattern: new RegExp(`^(?:${patternOf(g.names)})$`, "i") }));
const ALLOWED = new RegExp(`^(?:${patternOf(ALLOWED_ENV)})$`, "i");

/**
 * Checks GatewayParameters' `env` against {@linkcode REFUSED_ENV} and its exceptions, {@linkcode ALLOWED_ENV}.
 *
 * @example Usage
 * ```ts
 * import { envProblem } from "./gateway_env.ts";
 * envProblem([{ name: "TZ" }, { name: "LACQUER_DRAIN_SECONDS" }]); // undefined
 * envProblem([{ name: "KUBECONFIG" }]); // 'env: "KUBECONFIG" is refused: it would point the chaperone at ...'
 * ```
 *
 * @param env The extra environment variables.
 * @returns What is refused, naming the first refused variable, or undefined when every name is allowed.
 */
export function envProblem(env: readonly { name: string }[]): string | undefined {
  for (const { name } of env) {
    if (ALLOWED.test(name)) continue;
    const group = GROUPS.find((g) => g.pattern.test(name));
    if (group) return `env: "${name}" is refused: ${group.why} (${group.names.join(", ")})`;
  }
  return undefined;
}
