/**
 * zod schemas of the Kubernetes Ingress objects the operator reads (`networking.k8s.io/v1` Ingress and IngressClass),
 * as far as it reads them; unknown fields are kept, like every schema of `../api_types.ts`.
 *
 * @module
 */
import { z } from "zod";
import { metadataSchema } from "../api_types.ts";

const str = z.string();

/** The controller name of Lacquer's IngressClasses. */
export const INGRESS_CONTROLLER_NAME = "lacquer.dev/ingress-controller";

/** The annotation that makes an IngressClass the cluster's default. */
export const DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class";

/** The deprecated annotation naming an Ingress's class, still honoured when `spec.ingressClassName` is unset. */
export const LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class";

/** IngressClass (networking.k8s.io/v1). */
export const ingressClassSchema = z.looseObject({
  metadata: metadataSchema,
  spec: z.looseObject({
    controller: str.default(""),
    parameters: z.looseObject({
      apiGroup: str.optional(),
      kind: str,
      name: str,
      namespace: str.optional(),
      scope: str.optional(),
    }).optional(),
  }).default({ controller: "" }),
});

/** An IngressClass. */
export type IngressClass = z.output<typeof ingressClassSchema>;

/** An Ingress backend: a Service port (by number or name) or a resource, which Lacquer does not route to. */
export const ingressBackendSchema = z.looseObject({
  service: z.looseObject({
    name: str,
    port: z.looseObject({ number: z.number().int().optional(), name: str.optional() }).default({}),
  }).optional(),
  resource: z.looseObject({ apiGroup: str.optional(), kind: str, name: str }).optional(),
});

/** An Ingress backend. */
export type IngressBackend = z.output<typeof ingressBackendSchema>;

/** One path of an Ingress rule. */
export const ingressPathSchema = z.looseObject({
  path: str.default("/"),
  pathType: str.default("ImplementationSpecific"),
  backend: ingressBackendSchema,
});

/** One path of an Ingress rule. */
export type IngressPath = z.output<typeof ingressPathSchema>;

/** Ingress (networking.k8s.io/v1). */
export const ingressSchema = z.looseObject({
  metadata: metadataSchema,
  spec: z.looseObject({
    ingressClassName: str.optional(),
    defaultBackend: ingressBackendSchema.optional(),
    tls: z.array(z.looseObject({ hosts: z.array(str).default([]), secretName: str.optional() })).default([]),
    rules: z.array(z.looseObject({
      host: str.optional(),
      http: z.looseObject({ paths: z.array(ingressPathSchema).default([]) }).optional(),
    })).default([]),
  }).default({ tls: [], rules: [] }),
  status: z.looseObject({
    loadBalancer: z.looseObject({
      ingress: z.array(z.looseObject({ ip: str.optional(), hostname: str.optional() })).optional(),
    }).optional(),
  }).optional(),
});

/** An Ingress. */
export type Ingress = z.output<typeof ingressSchema>;
