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

/** What `lacquer explain` needs. */
export const explainConfigSchema = renderConfigSchema.extend({
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
