/**
 * The parts of Services and EndpointSlices the chaperone reads, as zod schemas applied once where objects enter
 * (the watchers and the golden-file loader). Unknown fields are dropped.
 *
 * Field semantics: https://kubernetes.io/docs/reference/kubernetes-api/service-resources/endpoint-slice-v1/
 *
 * @module
 */
import { z } from "zod";

/** The label that ties an EndpointSlice to its Service. */
export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";

/** The label naming who manages an EndpointSlice. */
export const SLICE_MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by";

/** {@linkcode SLICE_MANAGED_BY_LABEL} of the slices Kubernetes makes from a Service's selector. */
export const SLICE_CONTROLLER = "endpointslice-controller.k8s.io";

const metadata = z.object({
  name: z.string(),
  namespace: z.string().default(""),
  labels: z.record(z.string(), z.string()).default({}),
});

/** The part of a Service the merge needs: its ports (with their appProtocol), type and whether it has a selector. */
export const serviceViewSchema = z.object({
  metadata,
  spec: z.object({
    type: z.string().default("ClusterIP"),
    selector: z.record(z.string(), z.string()).nullish().transform((v) => v ?? {}),
    ports: z.array(z.object({
      name: z.string().default(""),
      port: z.int(),
      protocol: z.string().default("TCP"),
      targetPort: z.union([z.int(), z.string()]).optional(),
      appProtocol: z.string().optional(),
    })).default([]),
  }).default({ type: "ClusterIP", selector: {}, ports: [] }),
});

/** A parsed Service. */
export type ServiceView = z.output<typeof serviceViewSchema>;

const nullableBool = z.boolean().nullish().transform((v) => v ?? undefined);

/** The part of an EndpointSlice the merge needs. */
export const endpointSliceViewSchema = z.object({
  metadata,
  addressType: z.string(),
  endpoints: z.array(z.object({
    addresses: z.array(z.string()).default([]),
    conditions: z.object({ ready: nullableBool, serving: nullableBool, terminating: nullableBool }).prefault({}),
  })).nullish().transform((v) => v ?? []),
  ports: z.array(z.object({
    name: z.string().nullish().transform((v) => v ?? ""),
    port: z.int().nullish().transform((v) => v ?? undefined),
    protocol: z.string().nullish().transform((v) => v ?? "TCP"),
  })).nullish().transform((v) => v ?? []),
});

/** A parsed EndpointSlice. */
export type EndpointSliceView = z.output<typeof endpointSliceViewSchema>;
