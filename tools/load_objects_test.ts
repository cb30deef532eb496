import { deepEqual, equal, rejects, throws } from "node:assert/strict";
import { InputError, loadObjects, parseObjects } from "./load_objects.ts";

async function withFile(text: string, test: (path: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/in.yaml`, text);
    await test(`${dir}/in.yaml`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("parseObjects() names the file and document of bad YAML and of documents that are not objects", () => {
  throws(
    () => parseObjects("a.yaml", "kind: Namespace\n---\nkind: [unclosed\n"),
    (e) => e instanceof InputError && /^Cannot parse a\.yaml, document 1: /.test(e.message),
  );
  throws(
    () => parseObjects("a.yaml", "- 1\n- 2\n"),
    (e) =>
      e instanceof InputError && e.message === 'Cannot use a.yaml, document 0: not a Kubernetes object (no "kind")',
  );
});

Deno.test("parseObjects() skips empty documents and flattens a List", () => {
  const objects = parseObjects("a.yaml", "---\n---\nkind: List\nitems: [{kind: A}, {kind: B}]\n");
  deepEqual(objects.map((o) => o.where), ["a.yaml#1.items[0]", "a.yaml#1.items[1]"]);
});

Deno.test("loadObjects() refuses a missing file and an object that does not parse, saying which", async () => {
  await rejects(
    loadObjects(["/no/such/file.yaml"]),
    (e) => e instanceof InputError && /\/no\/such\/file\.yaml/.test(e.message),
  );
  await withFile(
    "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: g}\nspec: {listeners: 3}\n",
    async (path) => {
      await rejects(
        loadObjects([path]),
        (e) => e instanceof InputError && e.message.startsWith(`Cannot use ${path}#1 Gateway default/g: `),
      );
    },
  );
});

Deno.test("loadObjects() keeps EndpointSlices apart, defaults namespaces and lists ignored kinds", async () => {
  await withFile(
    [
      "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n",
      "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s-1, labels: {kubernetes.io/service-name: s}}\naddressType: IPv4\n",
      "apiVersion: v1\nkind: Namespace\nmetadata: {name: n}\n",
      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: x}\n",
    ].join("---\n"),
    async (path) => {
      const loaded = await loadObjects([path]);
      equal(loaded.snapshot.services[0].metadata.namespace, "default");
      equal(loaded.snapshot.namespaces[0].metadata.namespace, undefined);
      equal(loaded.endpointSlices[0].metadata.namespace, "default");
      deepEqual(loaded.ignored, [`${path}#3 Deployment x/d`]);
    },
  );
});
