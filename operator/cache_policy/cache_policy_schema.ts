/**
 * The CachePolicy object (`lacquer.dev/v1alpha1`, CRD `deploy/crds/lacquer.dev_cachepolicies.yaml`) as the operator
 * reads it.
 *
 * The object schema is deliberately loose about `spec`: a policy whose spec is wrong must still reach the translator,
 * so that it is reported `Invalid` on the policy's status instead of being dropped by the watcher. The strict spec
 * schema, {@linkcode cachePolicySpecSchema}, is applied by `validatePolicy`.
 *
 * @module
 */
import { z } from "zod";
import { GATEWAY_GROUP, metadataSchema, policyAncestorSchema } from "../api_types.ts";
import { checkRegex } from "../regex_check.ts";
import { durationSeconds } from "./duration.ts";

/** The kind. */
export const CACHE_POLICY_KIND = "CachePolicy";

/** The apiVersion. */
export const CACHE_POLICY_API_VERSION = "lacquer.dev/v1alpha1";

export { type PolicyAncestor, policyAncestorSchema } from "../api_types.ts";

/** A CachePolicy as the operator reads it: metadata and status parsed, spec kept for validation. */
export const cachePolicySchema = z.looseObject({
  metadata: metadataSchema,
  spec: z.record(z.string(), z.unknown()).default({}),
  status: z.looseObject({ ancestors: z.array(policyAncestorSchema).optional() }).optional(),
});

/** A CachePolicy as the operator reads it. */
export type CachePolicy = z.output<typeof cachePolicySchema>;

const SECTION_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// An HTTP token, the syntax of header and cookie names.
const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
const token = (what: string) => z.string().regex(TOKEN, `must be a ${what} (HTTP token characters)`).max(256);
const MAX_SECONDS = 2_147_483_647;
const duration = z.string().superRefine((text, ctx) => {
  const seconds = durationSeconds(text);
  if (typeof seconds === "string") ctx.addIssue({ code: "custom", message: seconds });
  else if (seconds > MAX_SECONDS) {
    ctx.addIssue({ code: "custom", message: `must be at most ${MAX_SECONDS}s, not ${text}` });
  }
});

/** The API group of Ingress, a target kind beside the Gateway API's. */
export const INGRESS_GROUP = "networking.k8s.io";

/**
 * A direct policy attachment target, in the policy's namespace: a Gateway or HTTPRoute (group
 * `gateway.networking.k8s.io`), or an Ingress (group `networking.k8s.io`, no sectionName) of a Lacquer IngressClass.
 */
export const policyTargetSchema = z.strictObject({
  group: z.enum([GATEWAY_GROUP, INGRESS_GROUP], { error: `must be "${GATEWAY_GROUP}" or "${INGRESS_GROUP}"` }),
  kind: z.enum(["Gateway", "HTTPRoute", "Ingress"], { error: 'must be "Gateway", "HTTPRoute" or "Ingress"' }),
  name: z.string().min(1).max(253),
  sectionName: z.string().max(253).regex(SECTION_NAME, "must be a listener or rule name (lowercase DNS label)")
    .optional(),
}).superRefine((t, ctx) => {
  const group = t.kind === "Ingress" ? INGRESS_GROUP : GATEWAY_GROUP;
  if (t.group !== group) ctx.addIssue({ code: "custom", path: ["group"], message: `must be "${group}" for ${t.kind}` });
  if (t.kind === "Ingress" && t.sectionName !== undefined) {
    ctx.addIssue({ code: "custom", path: ["sectionName"], message: "must not be set for an Ingress" });
  }
});

/** A policy target. */
export type PolicyTarget = z.output<typeof policyTargetSchema>;

/** The spec of a CachePolicy, strictly: unknown fields are mistakes worth reporting. */
export const cachePolicySpecSchema = z.strictObject({
  targetRefs: z.array(policyTargetSchema).min(1).max(16).superRefine((targets, ctx) => {
    const keys = targets.map((t) => `${t.kind}/${t.name}/${t.sectionName ?? ""}`);
    if (new Set(keys).size !== keys.length) ctx.addIssue({ code: "custom", message: "must not name one target twice" });
  }),
  ttl: z.strictObject({
    default: duration.optional(),
    forced: duration.optional(),
    grace: duration.optional(),
    keep: duration.optional(),
  }).optional(),
  allow: z.strictObject({
    noStore: z.boolean().optional(),
    private: z.boolean().optional(),
    setCookie: z.boolean().optional(),
    authorization: z.boolean().optional(),
    otherCookies: z.boolean().optional(),
    methods: z.array(z.literal("POST", { error: "must be POST (GET and HEAD are always looked up)" })).max(1)
      .optional(),
    maxBodyBytes: z.int().min(1).max(1_048_576).optional(),
  }).optional(),
  key: z.strictObject({
    query: z.strictObject({
      mode: z.enum(["All", "None", "Include", "Exclude"]).optional(),
      params: z.array(z.string().min(1).max(256)).max(64).optional(),
    }).superRefine((query, ctx) => {
      const mode = query.mode ?? "All";
      if ((query.params ?? []).length > 0 && mode !== "Include" && mode !== "Exclude") {
        ctx.addIssue({
          code: "custom",
          path: ["params"],
          message: `only allowed with mode Include or Exclude, not ${mode}`,
        });
      }
    }).optional(),
    headers: z.array(token("header name")).max(16).optional(),
    cookies: z.array(token("cookie name")).max(16).optional(),
  }).optional(),
  bypass: z.array(
    z.strictObject({
      header: z.strictObject({
        name: token("header name"),
        valueRegex: z.string().min(1).max(1024).superRefine((pattern, ctx) => {
          const problem = checkRegex(pattern);
          if (problem) ctx.addIssue({ code: "custom", message: `"${pattern}" is invalid: ${problem}` });
        }).optional(),
      }).optional(),
      cookie: z.strictObject({ name: token("cookie name") }).optional(),
    }).refine(
      (b) => (b.header === undefined) !== (b.cookie === undefined),
      "must name exactly one of header or cookie",
    ),
  ).max(16).optional(),
  surrogateKeys: z.strictObject({ header: token("header name").optional() }).optional(),
  debugHeaders: z.boolean().optional(),
});

/** The spec of a CachePolicy. */
export type CachePolicySpec = z.output<typeof cachePolicySpecSchema>;
