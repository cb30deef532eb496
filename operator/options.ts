/**
 * The operator's configuration: every flag of `lacquer operator` with its environment variable, and the zod
 * schema that turns the raw strings into a typed {@linkcode OperatorConfig}. Pure.
 *
 * @module
 */
import { z } from "zod";
import { listenAddressSchema } from "../internal/listen_address.ts";
import { OPERATOR_HEALTH_PORT, OPERATOR_INVALIDATION_PORT, OPERATOR_METRICS_PORT } from "../internal/names.ts";
import { durationSeconds } from "./cache_policy/duration.ts";
import { GATEWAY_POD_CLUSTER_ROLE } from "./children.ts";
import { LACQUER_VERSION } from "../internal/version.ts";

/** One operator flag: its commander spelling, environment variable and help text. */
export interface OperatorFlag {
  /** The key in the raw options object (commander's camelCase of the long flag). */
  key: string;
  /** The flag as commander spells it. A flag without `<value>` is a boolean switch. */
  flags: string;
  /** The environment variable read when the flag is absent. */
  env: string;
  /** Help text. */
  description: string;
}

/** The gateway image used when no GatewayParameters names one. */
export const DEFAULT_GATEWAY_IMAGE = `ghcr.io/lacquer/lacquer-gateway:${LACQUER_VERSION}`;

/** Every flag of `lacquer operator`, in help order. */
export const OPERATOR_FLAGS: readonly OperatorFlag[] = [
  {
    key: "kubeconfig",
    flags: "--kubeconfig <file>",
    env: "KUBECONFIG",
    description: "kubeconfig file (default: in-cluster service account)",
  },
  {
    key: "leaderElect",
    flags: "--leader-elect",
    env: "LACQUER_LEADER_ELECT",
    description: "elect one active replica through a Lease (default: off, for a single replica)",
  },
  {
    key: "leaseNamespace",
    flags: "--lease-namespace <name>",
    env: "POD_NAMESPACE",
    description: "namespace of the leader-election Lease (default: lacquer-system)",
  },
  {
    key: "leaseName",
    flags: "--lease-name <name>",
    env: "LACQUER_LEASE_NAME",
    description: "name of the leader-election Lease (default: lacquer-operator)",
  },
  {
    key: "identity",
    flags: "--identity <id>",
    env: "POD_NAME",
    description: "leader-election identity prefix; a random suffix is added (default: the hostname)",
  },
  {
    key: "metricsAddress",
    flags: "--metrics-address <[host]:port>",
    env: "LACQUER_METRICS_ADDRESS",
    description: `Prometheus metrics address (default: :${OPERATOR_METRICS_PORT})`,
  },
  {
    key: "healthAddress",
    flags: "--health-address <[host]:port>",
    env: "LACQUER_HEALTH_ADDRESS",
    description: `health address, /healthz and /readyz (default: :${OPERATOR_HEALTH_PORT})`,
  },
  {
    key: "invalidationAddress",
    flags: "--invalidation-address <[host]:port>",
    env: "LACQUER_INVALIDATION_ADDRESS",
    description: `invalidation API address, PURGE and POST /invalidate (default: :${OPERATOR_INVALIDATION_PORT})`,
  },
  {
    key: "invalidationDeadline",
    flags: "--invalidation-deadline <duration>",
    env: "LACQUER_INVALIDATION_DEADLINE",
    description:
      "how long a CacheInvalidation waits for a Gateway serving its hostname, and then retries unreachable pods, before it turns terminal (default: 2m)",
  },
  {
    key: "invalidationRetention",
    flags: "--invalidation-retention <duration>",
    env: "LACQUER_INVALIDATION_RETENTION",
    description: "how long a finished CacheInvalidation is kept before it is deleted (default: 1h)",
  },
  {
    key: "invalidationRate",
    flags: "--invalidation-rate <n>",
    env: "LACQUER_INVALIDATION_RATE",
    description: "invalidation API calls per second per caller, bursts of twice that (default: 10)",
  },
  {
    key: "webhookAddress",
    flags: "--webhook-address <[host]:port>",
    env: "LACQUER_WEBHOOK_ADDRESS",
    description: "serve the validating admission webhook (HTTPS, own certificates) here (default: off)",
  },
  {
    key: "webhookSecret",
    flags: "--webhook-secret <name>",
    env: "LACQUER_WEBHOOK_SECRET",
    description:
      "Secret in the operator's namespace keeping the webhook's CA and certificate (default: lacquer-webhook-tls)",
  },
  {
    key: "webhookConfiguration",
    flags: "--webhook-configuration <name>",
    env: "LACQUER_WEBHOOK_CONFIGURATION",
    description:
      "ValidatingWebhookConfiguration whose caBundle the operator keeps current (default: lacquer-admission)",
  },
  {
    key: "webhookService",
    flags: "--webhook-service <name>",
    env: "LACQUER_WEBHOOK_SERVICE",
    description:
      "Service in front of the webhook, whose DNS names the certificate names (default: lacquer-operator-webhook)",
  },
  {
    key: "gatewayImage",
    flags: "--gateway-image <image>",
    env: "LACQUER_GATEWAY_IMAGE",
    description: `gateway image when GatewayParameters name none (default: ${DEFAULT_GATEWAY_IMAGE})`,
  },
  {
    key: "gatewayServiceType",
    flags: "--gateway-service-type <type>",
    env: "LACQUER_GATEWAY_SERVICE_TYPE",
    description: "gateway Service type when GatewayParameters name none: LoadBalancer, ClusterIP, NodePort",
  },
  {
    key: "gatewayReplicas",
    flags: "--gateway-replicas <n>",
    env: "LACQUER_GATEWAY_REPLICAS",
    description: "gateway pods per Gateway unless a HorizontalPodAutoscaler scales its Deployment (default: 2)",
  },
  {
    key: "gatewayPodClusterRole",
    flags: "--gateway-pod-cluster-role <name>",
    env: "LACQUER_GATEWAY_POD_CLUSTER_ROLE",
    description:
      "ClusterRole each gateway's RoleBinding grants (get and patch of pods), on which the operator holds bind (default: lacquer-gateway-pod)",
  },
  {
    key: "secretsClusterRole",
    flags: "--secrets-cluster-role <name>",
    env: "LACQUER_SECRETS_CLUSTER_ROLE",
    description:
      "reach Secrets only through RoleBindings to this ClusterRole, which the operator creates for itself in the namespaces its Gateways need Secrets from and holds bind on (needs --service-account; default: a standing right to read Secrets)",
  },
  {
    key: "serviceAccount",
    flags: "--service-account <namespace/name>",
    env: "LACQUER_SERVICE_ACCOUNT",
    description: "the operator's own ServiceAccount, the subject of the RoleBindings of --secrets-cluster-role",
  },
  {
    key: "gatewayClass",
    flags: "--gateway-class <names>",
    env: "LACQUER_GATEWAY_CLASSES",
    description:
      "handle only these GatewayClasses, comma-separated (default: every class of lacquer.dev/gateway-controller)",
  },
  {
    key: "watchNamespaces",
    flags: "--watch-namespaces <names>",
    env: "LACQUER_WATCH_NAMESPACES",
    description:
      "watch and manage only these namespaces, comma-separated; needs rights only there (default: the whole cluster)",
  },
  {
    key: "workers",
    flags: "--workers <n>",
    env: "LACQUER_WORKERS",
    description: "Gateways reconciled in parallel (default: 4)",
  },
];

// A duration flag ("90s", "1h") in milliseconds.
const durationMs = z.string().transform((value, ctx) => {
  const seconds = durationSeconds(value);
  if (typeof seconds === "number" && seconds > 0) return seconds * 1000;
  ctx.addIssue({
    code: "custom",
    message: typeof seconds === "string" ? seconds : `must be more than 0s, not ${value}`,
  });
  return z.NEVER;
});

const flag = z.union([z.boolean(), z.enum(["true", "false", "1", "0", ""])]).transform((v) =>
  v === true || v === "true" || v === "1"
);

// A namespace name (an RFC 1123 label).
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The schema of the operator's configuration; input is the raw flag/environment values. */
export const operatorConfigSchema = z.object({
  kubeconfig: z.string().min(1).optional(),
  leaderElect: flag.default(false),
  leaseNamespace: z.string().min(1).default("lacquer-system"),
  leaseName: z.string().min(1).default("lacquer-operator"),
  identity: z.string().min(1).optional(),
  metricsAddress: listenAddressSchema.prefault(`:${OPERATOR_METRICS_PORT}`),
  healthAddress: listenAddressSchema.prefault(`:${OPERATOR_HEALTH_PORT}`),
  invalidationAddress: listenAddressSchema.prefault(`:${OPERATOR_INVALIDATION_PORT}`),
  invalidationDeadline: durationMs.prefault("2m"),
  invalidationRetention: durationMs.prefault("1h"),
  invalidationRate: z.coerce.number().positive().max(10_000).default(10),
  webhookAddress: listenAddressSchema.optional(),
  webhookSecret: z.string().min(1).default("lacquer-webhook-tls"),
  webhookConfiguration: z.string().min(1).default("lacquer-admission"),
  webhookService: z.string().min(1).default("lacquer-operator-webhook"),
  gatewayImage: z.string().min(1).default(DEFAULT_GATEWAY_IMAGE),
  gatewayServiceType: z.enum(["LoadBalancer", "ClusterIP", "NodePort"]).default("LoadBalancer"),
  gatewayReplicas: z.coerce.number().int().min(1).max(100).default(2),
  gatewayPodClusterRole: z.string().min(1).default(GATEWAY_POD_CLUSTER_ROLE.metadata.name),
  secretsClusterRole: z.string().min(1).optional(),
  serviceAccount: z.string().optional().transform((v, ctx) => {
    if (v === undefined) return undefined;
    const [namespace, name, ...rest] = v.split("/");
    if (namespace && name && rest.length === 0 && DNS_LABEL.test(namespace)) return { namespace, name };
    ctx.addIssue({ code: "custom", message: `must be <namespace>/<name>, not ${v}` });
    return z.NEVER;
  }),
  workers: z.coerce.number().int().min(1).max(64).default(4),
  gatewayClass: z.string().optional().transform((v) =>
    v === undefined ? undefined : v.split(",").map((n) => n.trim()).filter((n) => n !== "")
  ),
  watchNamespaces: z.string().optional().transform((v, ctx) => {
    if (v === undefined) return undefined;
    const names = [...new Set(v.split(",").map((n) => n.trim()).filter((n) => n !== ""))];
    const bad = names.filter((n) => !DNS_LABEL.test(n));
    if (names.length > 0 && bad.length === 0) return names;
    ctx.addIssue({
      code: "custom",
      message: bad.length > 0 ? `not namespace names: ${bad.join(", ")}` : "names no namespace",
    });
    return z.NEVER;
  }),
}).refine((c) => !c.secretsClusterRole || c.serviceAccount, {
  message: "--secrets-cluster-role needs --service-account (whom the RoleBindings name)",
  path: ["serviceAccount"],
});

/** The operator's validated configuration. */
export type OperatorConfig = z.output<typeof operatorConfigSchema>;

/**
 * Fills absent flags from the environment.
 *
 * @example Usage
 * ```ts
 * import { operatorFlagsWithEnvironment } from "./options.ts";
 * operatorFlagsWithEnvironment({}, { LACQUER_WORKERS: "8" }); // { workers: "8" }
 * ```
 *
 * @param flags What commander parsed.
 * @param env The environment.
 * @returns The raw values for {@linkcode operatorConfigSchema}.
 */
export function operatorFlagsWithEnvironment(
  flags: Record<string, unknown>,
  env: Record<string, string | undefined>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of OPERATOR_FLAGS) {
    if (flags[f.key] !== undefined) out[f.key] = flags[f.key];
    else if (env[f.env] !== undefined && env[f.env] !== "") out[f.key] = env[f.env];
  }
  return out;
}
