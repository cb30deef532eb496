import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { defaultImageTable, imageName, resolveImage } from "./image_table.ts";

const host = { echoBasic: "/cache/echo-basic", deno: "/cache/deno", repoRoot: "/repo" };

Deno.test("imageName() strips registry, tag and digest", () => {
  strictEqual(imageName("gcr.io/k8s-staging-gateway-api/echo-basic:v1@sha256:ab"), "echo-basic");
  strictEqual(imageName("localhost:5000/lacquer"), "lacquer");
  strictEqual(imageName("nginx"), "nginx");
});

Deno.test("resolveImage() maps echo images to echo-basic", () => {
  const c = resolveImage({ name: "e", image: "registry.k8s.io/gateway-api/echo-advanced:v1", args: ["x"] }, {
    host,
    table: defaultImageTable,
  });
  deepStrictEqual(c, { program: "/cache/echo-basic", args: [] });
});

Deno.test("resolveImage() runs the lacquer image as mod.ts with its command and args", () => {
  const c = resolveImage(
    { name: "gw", image: "ghcr.io/lacquer/lacquer:dev", command: ["lacquer"], args: ["chaperone", "--x=1"] },
    { host, table: defaultImageTable },
  );
  deepStrictEqual(c, { program: "/cache/deno", args: ["run", "--allow-all", "/repo/mod.ts", "chaperone", "--x=1"] });
});

Deno.test("resolveImage() runs the gateway and operator images with their default subcommand or their args", () => {
  const run = (image: string, args?: string[]) =>
    resolveImage({ name: "c", image, args }, { host, table: defaultImageTable });
  const mod = ["run", "--allow-all", "/repo/mod.ts"];
  deepStrictEqual(run("ghcr.io/lacquer/lacquer-operator:0.1.0").args, [...mod, "operator"]);
  deepStrictEqual(run("ghcr.io/lacquer/lacquer-gateway:0.1.0").args, [...mod, "chaperone"]);
  deepStrictEqual(run("ghcr.io/lacquer/lacquer-operator:0.1.0", ["operator", "--leader-elect"]).args, [
    ...mod,
    "operator",
    "--leader-elect",
  ]);
});

Deno.test("resolveImage() runs unknown images as a sleeping no-op", () => {
  const c = resolveImage({ name: "x", image: "nginx:1.27" }, { host, table: defaultImageTable });
  strictEqual(c.noop, true);
  deepStrictEqual(c.args, ["infinity"]);
});

Deno.test("resolveImage() runs busybox commands as host programs", () => {
  const c = resolveImage({
    name: "b",
    image: "docker.io/library/busybox:1.36",
    command: ["sh", "-c"],
    args: ["exit 0"],
  }, {
    host,
    table: defaultImageTable,
  });
  deepStrictEqual(c, { program: "sh", args: ["-c", "exit 0"] });
});
