/** The Lacquer release this code base builds. Kept equal to `version` in deno.json (checked by a test). */
export const LACQUER_VERSION = "0.1.0";
