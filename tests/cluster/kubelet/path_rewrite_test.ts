import { strictEqual } from "node:assert/strict";
import { rewritePath } from "./path_rewrite.ts";

const options = { root: "/pods/p/root", mountPaths: ["/etc/config/", "/var/run/lacquer"] };

Deno.test("rewritePath() moves paths under a mount below the pod root", () => {
  strictEqual(rewritePath("/etc/config/a.yaml", options), "/pods/p/root/etc/config/a.yaml");
  strictEqual(rewritePath("/var/run/lacquer", options), "/pods/p/root/var/run/lacquer");
  strictEqual(
    rewritePath("--ghost=/var/run/lacquer/ghost.json", options),
    "--ghost=/pods/p/root/var/run/lacquer/ghost.json",
  );
});

Deno.test("rewritePath() leaves other values alone", () => {
  strictEqual(rewritePath("/etc/configuration", options), "/etc/configuration");
  strictEqual(rewritePath("a=/etc/config/x", options), "a=/etc/config/x");
  strictEqual(rewritePath("3000", options), "3000");
});
