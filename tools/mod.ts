/**
 * The tools: `lacquer render` (what the operator would produce for YAML files), `lacquer explain` (how a Gateway
 * would route and cache one request, from files or the live cluster) and `lacquer status` (the live cluster's
 * Gateways, routes, policies and pods on one screen). Render and explain run the operator's own translation.
 *
 * | module            | what                                                                           |
 * | ----------------- | ------------------------------------------------------------------------------ |
 * | `options.ts`      | the flags, validated                                                           |
 * | `load_objects.ts` | files and folders → snapshot and EndpointSlices, errors with file and document |
 * | `render.ts`       | snapshot → routing.json, main.vcl, children, every status (pure)              |
 * | `run_render.ts`   | `lacquer render`                                                               |
 * | `route_match.ts`  | ghost's request matching and precedence, ported (tested on ghost's goldens)    |
 * | `explain.ts`      | a Gateway's ghost.json and a request → the explanation (pure)                  |
 * | `run_explain.ts`  | `lacquer explain`                                                              |
 * | `cluster_objects.ts` | the live cluster's objects, as the files would hold them                    |
 * | `status.ts`       | listed objects → the status summary and its table (pure)                       |
 * | `run_status.ts`   | `lacquer status`                                                               |
 *
 * @module
 */
export * from "./load_objects.ts";
export * from "./options.ts";
export * from "./render.ts";
export * from "./run_render.ts";
export * from "./explain.ts";
export * from "./route_match.ts";
export * from "./run_explain.ts";
export * from "./cluster_objects.ts";
export * from "./status.ts";
export * from "./run_status.ts";
