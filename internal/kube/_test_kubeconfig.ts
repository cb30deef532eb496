/** A kubeconfig file for tests: one cluster at `server`, one user with bearer token `t`, current. */
export async function withKubeconfigFile<T>(server: string, use: (file: string) => Promise<T> | T): Promise<T> {
  const file = await Deno.makeTempFile({ suffix: ".yaml" });
  try {
    await Deno.writeTextFile(
      file,
      [
        "apiVersion: v1",
        "kind: Config",
        `clusters: [{name: c, cluster: {server: '${server}'}}]`,
        "users: [{name: u, user: {token: t}}]",
        "contexts: [{name: x, context: {cluster: c, user: u}}]",
        "current-context: x",
      ].join("\n"),
    );
    return await use(file);
  } finally {
    await Deno.remove(file);
  }
}
