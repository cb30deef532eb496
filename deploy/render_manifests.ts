/**
 * `deno task deploy:render`: the plain manifests in `deploy/operator/` are rendered from the Helm chart
 * (`deploy/helm/lacquer`), never edited by hand, and the chart's optional Gateway API CRDs are copied from the
 * Gateway API module set-up builds from. `deploy/helm_test.ts` fails when either is out of date.
 *
 * @module
 */
import { clusterBinaries, lacquerCacheDir } from "../tests/cluster/layout.ts";
import { runCommand } from "../tests/cluster/run_command.ts";

/** The repository's deploy folder. */
const DEPLOY = new URL("./", import.meta.url).pathname;

/** The chart's folder. */
export const CHART_DIR = `${DEPLOY}helm/lacquer`;

/** The manifests rendered from the chart, applied with `kubectl apply -f`. */
export const RENDERED_MANIFESTS = `${DEPLOY}operator/lacquer.yaml`;

/** The Gateway API CRDs the chart installs when `gatewayApiCrds.install` is true. */
export const VENDORED_GATEWAY_API_CRDS = `${CHART_DIR}/charts/gateway-api-crds/crds/standard-install.yaml`;

/** The release name and namespace of the rendered manifests. */
export const RELEASE = { name: "lacquer", namespace: "lacquer-system" } as const;

/** The Kubernetes version the rendered manifests are checked against (the local cluster's). */
const KUBE_VERSION = "1.36.3";

const HEADER = "# Rendered from the Helm chart deploy/helm/lacquer by `deno task deploy:render`: do not edit.\n" +
  "# Apply after the CRDs (deploy/crds/): kubectl apply -f deploy/crds/ && kubectl apply -f deploy/operator/\n";

/**
 * Returns the helm binary set-up builds (`$LACQUER_CACHE/bin/helm`).
 *
 * @param cache The cache root.
 * @returns The path.
 */
export function helmBinary(cache: string = lacquerCacheDir(Deno.env)): string {
  return `${cache}/bin/helm`;
}

/**
 * Runs `helm template` on the chart with the given `--set` values.
 *
 * @param set `key=value` entries.
 * @param showOnly Templates to render (`templates/<file>`), else all.
 * @returns The rendered YAML.
 */
export async function helmTemplate(set: readonly string[] = [], showOnly: readonly string[] = []): Promise<string> {
  const { stdout } = await runCommand(helmBinary(), {
    args: [
      "template",
      RELEASE.name,
      CHART_DIR,
      "--namespace",
      RELEASE.namespace,
      // Without a cluster, helm assumes an old Kubernetes that the chart's kubeVersion refuses.
      "--kube-version",
      KUBE_VERSION,
      ...set.flatMap((s) => ["--set", s]),
      ...showOnly.flatMap((t) => ["--show-only", t]),
    ],
  });
  return stdout;
}

/**
 * Renders what `deploy/operator/lacquer.yaml` must hold: the chart with its defaults plus the labelled Namespace.
 *
 * @returns The file's text.
 */
export async function renderManifests(): Promise<string> {
  return HEADER + await helmTemplate(["createNamespace=true"]);
}

/**
 * Returns the Gateway API CRDs (standard channel) that set-up collected from the Go module.
 *
 * @returns The YAML text.
 */
export async function gatewayApiCrds(): Promise<string> {
  return await Deno.readTextFile(`${clusterBinaries(lacquerCacheDir(Deno.env)).crdDir}/standard.yaml`);
}

if (import.meta.main) {
  await Deno.mkdir(RENDERED_MANIFESTS.slice(0, RENDERED_MANIFESTS.lastIndexOf("/")), { recursive: true });
  await Deno.writeTextFile(RENDERED_MANIFESTS, await renderManifests());
  await Deno.writeTextFile(VENDORED_GATEWAY_API_CRDS, await gatewayApiCrds());
  console.error(`wrote ${RENDERED_MANIFESTS} and ${VENDORED_GATEWAY_API_CRDS}`);
}
