/**
 * The flags of `lacquer render` and `lacquer explain`, validated into configs.
 *
 * @module
 */
import { z } from "zod";

const gatewayKey = z.string().regex(/^([a-z0-9][-a-z0-9.]*\/)?[a-z0-9][-a-z0-9.]*$/, "must be namespace/name")
  .transform((v) => (v.includes("/") ? v : `default/${v}`));

/** What `lacquer render` needs. */
export const renderConfigSchema = z.object({
  /** Files or folders with YAML or JSON objects. */
  file: z.preprocess((v) => v ?? [], z.array(z.string().min(1)).min(1, "at least one -f <file or folder> is required")),
  /** Output format. */
  output: z.enum(["yaml", "json"]).default("yaml"),
  /** One Gateway (`namespace/name`, or `name` in `default`). */
  gateway: gatewayKey.optional(),
});

/** A validated `lacquer render` command. */
export type RenderConfig = z.output<typeof renderConfigSchema>;

const header = z.string().regex(/^[A-Za-z0-9!#$%&'*+\-.^_`|~]+:/, "must be name:value").transform((h) => {
  const colon = h.indexOf(":");
  return { name: h.slice(0, colon), value: h.slice(colon + 1).trim() };
});

/** Where the live tools find the cluster. */
const kubeconfig = z.string().min(1).optional();

/** What `lacquer explain` needs: files (offline) or, without `-f`, the cluster of the kubeconfig. */
export const explainConfigSchema = renderConfigSchema.extend({
  /** Files or folders; none: read the live cluster. */
  file: z.preprocess((v) => v ?? [], z.array(z.string().min(1))),
  /** The kubeconfig file of the live cluster (default: `KUBECONFIG`, then the in-cluster account). */
  kubeconfig,
  /** The request method. */
  method: z.string().regex(/^[A-Z]+$/, "must be an HTTP method in capitals, like GET"),
  /** The request URL: `http[s]://host[:port]/path?query`. */
  url: z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" }),
  /** Request headers. */
  header: z.array(header).default([]),
  /** The listener the request arrives on, when several listeners share the URL's port. */
  listener: z.string().min(1).optional(),
});

/** A validated `lacquer explain` command. */
export type ExplainConfig = z.output<typeof explainConfigSchema>;

/** What `lacquer status` needs. */
export const statusConfigSchema = z.object({
  /** The kubeconfig file (default: `KUBECONFIG`, then the in-cluster account). */
  kubeconfig,
  /** Output format: a table for the terminal, or the same summary as a document. */
  output: z.enum(["table", "yaml", "json"]).default("table"),
  /** Only this namespace's objects (default: every namespace). */
  namespace: z.string().min(1).optional(),
});

/** A validated `lacquer status` command. */
export type StatusConfig = z.output<typeof statusConfigSchema>;
