import { deepStrictEqual, match, strictEqual, throws } from "node:assert/strict";
import {
  ContractError,
  formatJsonPath,
  parseContract,
  parseGhostJson,
  parseRoutingJson,
  stringifyContract,
} from "./parse_contract.ts";
import { parseGhostDelta } from "./ghost_delta.ts";
import { ghostJsonSchema } from "./ghost_json.ts";

const TESTDATA = new URL("testdata/", import.meta.url);
const UPDATE = Deno.env.get("LACQUER_UPDATE_GOLDEN") === "1";
const PARSERS = { routing: parseRoutingJson, ghost: parseGhostJson, "ghost-delta": parseGhostDelta } as const;
const NAMES = { routing: "parseRoutingJson", ghost: "parseGhostJson", "ghost-delta": "parseGhostDelta" } as const;

function casesIn(dir: URL): string[] {
  return [...Deno.readDirSync(dir)]
    .map((e) => e.name)
    .filter((n) => n.endsWith(".json") && !n.endsWith(".parsed.json") && !n.endsWith(".error.json"))
    .map((n) => n.slice(0, -".json".length))
    .sort();
}

function readGolden(url: URL, produced: string): string {
  if (UPDATE) Deno.writeTextFileSync(url, produced);
  try {
    return Deno.readTextFileSync(url);
  } catch (err) {
    throw new Error(`Cannot read golden file "${url.pathname}": run LACQUER_UPDATE_GOLDEN=1 deno task test`, {
      cause: err,
    });
  }
}

for (const format of ["routing", "ghost", "ghost-delta"] as const) {
  Deno.test(`${NAMES[format]}() accepts every valid golden document`, async (t) => {
    const dir = new URL(`${format}/valid/`, TESTDATA);
    for (const name of casesIn(dir)) {
      await t.step(name, () => {
        const parsed = PARSERS[format](Deno.readTextFileSync(new URL(`${name}.json`, dir)));
        const produced = JSON.stringify(parsed, null, 2) + "\n";
        // The parsed form shows every default applied; the Rust tests compare against the same file.
        strictEqual(produced, readGolden(new URL(`${name}.parsed.json`, dir), produced));
        // Parsing is stable: the parsed form parses to itself.
        deepStrictEqual(PARSERS[format](JSON.stringify(parsed)), parsed);
      });
    }
  });

  Deno.test(`${NAMES[format]}() rejects every invalid golden document at its path`, async (t) => {
    const dir = new URL(`${format}/invalid/`, TESTDATA);
    for (const name of casesIn(dir)) {
      await t.step(name, () => {
        let error: ContractError | undefined;
        try {
          PARSERS[format](Deno.readTextFileSync(new URL(`${name}.json`, dir)));
        } catch (err) {
          if (!(err instanceof ContractError)) throw err;
          error = err;
        }
        if (!error) throw new Error(`Document "${name}" was accepted`);
        const produced = JSON.stringify({ path: error.issues[0].path, message: error.message }, null, 2) + "\n";
        strictEqual(produced, readGolden(new URL(`${name}.error.json`, dir), produced));
      });
    }
  });
}

Deno.test("parseGhostJson() reads the ghost/core route goldens when they exist", async (t) => {
  const dir = new URL("../core/testdata/route/", import.meta.url);
  let names: string[] = [];
  try {
    names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".ghost.json"));
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  for (const name of names) {
    await t.step(name, () => {
      parseGhostJson(Deno.readTextFileSync(new URL(name, dir)));
    });
  }
});

Deno.test("parseContract() names the document and the JSON path in its message", () => {
  throws(
    () =>
      parseContract(ghostJsonSchema, '{"version": 1, "vhosts": {"a.example.com": {"routes": [{}]}}}', {
        document: "ghost.json",
      }),
    (err: unknown) => {
      if (!(err instanceof ContractError)) return false;
      match(err.message, /^Cannot parse ghost\.json: at \$\.vhosts\["a\.example\.com"\]\.routes\[0\]\.id: /);
      match(err.message, /\(and \d+ more\)$/);
      return err.issues.length > 1;
    },
  );
});

Deno.test("parseContract() reports text that is not JSON at the root", () => {
  throws(() => parseRoutingJson("{"), (err: unknown) => {
    return err instanceof ContractError && err instanceof SyntaxError && err.issues[0].path === "$" &&
      /not JSON/.test(err.message);
  });
});

Deno.test("formatJsonPath() quotes keys that are not identifiers", () => {
  strictEqual(formatJsonPath([]), "$");
  strictEqual(formatJsonPath(["vhosts", "*.example.com", "routes", 3, "id"]), '$.vhosts["*.example.com"].routes[3].id');
  strictEqual(formatJsonPath(["a b", "_ok", 0]), '$["a b"]._ok[0]');
});

Deno.test("stringifyContract() writes compact JSON with a trailing newline", () => {
  const doc = parseGhostJson('{"version": 1, "vhosts": {}}');
  strictEqual(stringifyContract(doc), '{"version":1,"listeners":[],"vhosts":{}}\n');
});
