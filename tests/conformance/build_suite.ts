/**
 * Builds the upstream conformance suite (`go test -c` of this folder's wrapper module) into
 * `$LACQUER_CACHE/conformance/<hash>/conformance.test`, keyed by the hash of go.mod, go.sum and the test file, so a
 * warm run only checks that the binary exists.
 *
 * @module
 */
import { contentHash } from "../../internal/content_hash.ts";

const FOLDER = new URL("./", import.meta.url);
const INPUTS = ["go.mod", "go.sum", "conformance_test.go"];

/**
 * Returns the path of the conformance test binary, building it first when the cache has none for these inputs.
 *
 * @param cache The cache root (`$LACQUER_CACHE`).
 * @returns The binary's path.
 * @throws {Error} When the Go build fails; the message carries the compiler output.
 */
export async function buildConformanceSuite(cache: string): Promise<string> {
  const texts = await Promise.all(INPUTS.map((f) => Deno.readTextFile(new URL(f, FOLDER))));
  const hash = contentHash(texts.join("\0"));
  const dir = `${cache}/conformance/${hash.slice("sha256:".length, "sha256:".length + 16)}`;
  const binary = `${dir}/conformance.test`;
  if (await Deno.stat(binary).then(() => true, () => false)) return binary;
  console.error(`[conformance] building the upstream suite into ${binary} (cold: a few minutes)`);
  await Deno.mkdir(dir, { recursive: true });
  const out = await new Deno.Command("go", {
    args: ["test", "-c", "-p", "2", "-o", `${binary}.tmp`, "."],
    cwd: FOLDER.pathname,
    env: { GOFLAGS: "-mod=readonly -buildvcs=false", GOTOOLCHAIN: "local" },
    stdout: "inherit",
    stderr: "piped",
  }).output();
  if (out.code !== 0) {
    throw new Error(`Cannot build the conformance suite: go test -c failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  await Deno.rename(`${binary}.tmp`, binary);
  return binary;
}
