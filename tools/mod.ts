/**
 * The offline tools: `lacquer render` (what the operator would produce for YAML files) and `lacquer explain` (how
 * a Gateway would route and cache one request). Both run the operator's own translation, not a copy of it.
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
