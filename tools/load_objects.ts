/**
 * Reads Kubernetes objects from YAML or JSON files and folders for the offline tools (`lacquer render`,
 * `lacquer explain`), and sorts them into the translator's snapshot plus the EndpointSlices chaperone reads.
 *
 * Every problem names the file and the document index (0-based, as `kubectl` counts), so the user can find it.
 *
 * @module
 */
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { type EndpointSliceView, endpointSliceViewSchema } from "../chaperone/kube_views.ts";
import { kindKey, parseSnapshot, type Snapshot, SNAPSHOT_KINDS } from "../operator/snapshot.ts";

/** Input that cannot be used: an unreadable file, bad YAML, an object that does not parse. Exit code 1. */
export class InputError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }
}

/** The objects read from the files. */
export interface LoadedObjects {
  /** What the translator reads. */
  snapshot: Snapshot;
  /** EndpointSlices (for backends' endpoints). */
  endpointSlices: EndpointSliceView[];
  /** Objects of kinds neither reads, as `file#index Kind namespace/name`, to tell the user. */
  ignored: string[];
}

const ENDPOINT_SLICE = "discovery.k8s.io/EndpointSlice";
// Kinds without a namespace; every other object without one lands in "default", as with `kubectl apply`.
const CLUSTER_SCOPED = new Set(["gateway.networking.k8s.io/GatewayClass", "/Namespace"]);

async function listFiles(path: string): Promise<string[]> {
  let info;
  try {
    info = await Deno.stat(path);
  } catch (err) {
    throw new InputError(`Cannot read ${path}: ${(err as Error).message}`);
  }
  if (!info.isDirectory) return [path];
  const names: string[] = [];
  for await (const entry of Deno.readDir(path)) names.push(entry.name);
  const files: string[] = [];
  for (const name of names.sort()) {
    const child = join(path, name);
    const stat = await Deno.stat(child);
    if (stat.isDirectory) files.push(...await listFiles(child));
    else if (/\.(ya?ml|json)$/.test(name)) files.push(child);
  }
  return files;
}

function withNamespace(obj: Record<string, unknown>, key: string): Record<string, unknown> {
  const metadata = (obj.metadata ?? {}) as Record<string, unknown>;
  if (CLUSTER_SCOPED.has(key) || typeof metadata.namespace === "string") return obj;
  return { ...obj, metadata: { ...metadata, namespace: "default" } };
}

/**
 * Parses the text of one file into objects, `kind: List` items flattened.
 *
 * @example Usage
 * ```ts
 * import { parseObjects } from "./load_objects.ts";
 * const objects = parseObjects("a.yaml", "kind: Namespace\napiVersion: v1\nmetadata: {name: x}\n");
 * // objects[0].where === "a.yaml#0"
 * ```
 *
 * @param file The file name, for messages.
 * @param text Its text.
 * @returns The objects with where they came from (`file#index`).
 * @throws {InputError} On a YAML error or a document that is not an object with `kind` and `apiVersion`.
 */
export function parseObjects(file: string, text: string): { where: string; object: Record<string, unknown> }[] {
  const out: { where: string; object: Record<string, unknown> }[] = [];
  parseAllDocuments(text).forEach((doc, index) => {
    const where = `${file}#${index}`;
    if (doc.errors.length > 0) {
      throw new InputError(`Cannot parse ${file}, document ${index}: ${doc.errors[0].message}`);
    }
    const value = doc.toJS();
    if (value === null || value === undefined) return;
    if (typeof value !== "object" || Array.isArray(value) || typeof value.kind !== "string") {
      throw new InputError(`Cannot use ${file}, document ${index}: not a Kubernetes object (no "kind")`);
    }
    if (value.kind === "List" && Array.isArray(value.items)) {
      value.items.forEach((item: Record<string, unknown>, i: number) =>
        out.push({ where: `${where}.items[${i}]`, object: item })
      );
    } else out.push({ where, object: value });
  });
  return out;
}

/**
 * Reads files and folders (recursively, `*.yaml`, `*.yml`, `*.json` in name order) into a snapshot.
 *
 * @example Usage
 * ```ts ignore
 * import { loadObjects } from "./load_objects.ts";
 * const { snapshot, endpointSlices } = await loadObjects(["deploy/demo/demo.yaml"]);
 * ```
 *
 * @param paths Files or folders.
 * @returns The snapshot, EndpointSlices and what was ignored.
 * @throws {InputError} When a file cannot be read, is not YAML, or an object does not parse.
 */
export async function loadObjects(paths: readonly string[]): Promise<LoadedObjects> {
  const objects: unknown[] = [];
  const endpointSlices: EndpointSliceView[] = [];
  const ignored: string[] = [];
  for (const path of paths) {
    for (const file of await listFiles(path)) {
      let text: string;
      try {
        text = await Deno.readTextFile(file);
      } catch (err) {
        throw new InputError(`Cannot read ${file}: ${(err as Error).message}`);
      }
      for (const { where, object } of parseObjects(file, text)) {
        const key = kindKey(object);
        const named = withNamespace(object, key);
        const meta = named.metadata as { namespace?: string; name?: string } | undefined;
        const label = `${where} ${object.kind} ${meta?.namespace ? `${meta.namespace}/` : ""}${meta?.name ?? ""}`;
        if (key === ENDPOINT_SLICE) {
          const parsed = endpointSliceViewSchema.safeParse(named);
          if (!parsed.success) throw new InputError(`Cannot use ${label}: ${parsed.error.message}`);
          endpointSlices.push(parsed.data);
        } else if (SNAPSHOT_KINDS[key]) {
          try {
            parseSnapshot([named]);
          } catch (err) {
            throw new InputError(`Cannot use ${label}: ${(err as Error).message}`);
          }
          objects.push(named);
        } else ignored.push(label);
      }
    }
  }
  return { snapshot: parseSnapshot(objects), endpointSlices, ignored };
}
