/**
 * HTTPS listeners: one {@linkcode HitchSupervisor} per TLS listener socket, fed with the usable certificates of the
 * gateway's TLS Secret, and the socket's client certificate verification, each time the Secret changes.
 *
 * @module
 */
import { contentHash } from "../internal/content_hash.ts";
import { type DataPlaneRejection, RejectionKind } from "../internal/data_plane_rejections.ts";
import type { KubeClient } from "../internal/kube/mod.ts";
import type { Logger } from "../internal/log.ts";
import { clientVerifyKeys } from "../internal/names.ts";
import { usableTlsBundles } from "./hitch_config.ts";
import { type ClientCas, HitchSupervisor } from "./hitch_supervisor.ts";
import type { ListenerSocket } from "./options.ts";
import { KEEPER_PRELOAD_PATH, keeperEnv } from "./socket_keeper.ts";
import { watchTlsSecret } from "./tls_secret_watcher.ts";

/** Options of {@linkcode startTlsTermination}. */
export interface TlsTerminationOptions {
  /** The HTTPS listener sockets; none starts nothing. */
  sockets: readonly ListenerSocket[];
  /** varnishd's loopback PROXY port per socket name (see `tlsBackendPorts`). */
  backendPorts: ReadonlyMap<string, number>;
  /** The hitch executable. */
  hitch: string;
  /** Below it, one directory per socket (`<dir>/<socket>`, mode 0700). */
  dir: string;
  /** The namespace of the TLS Secret. */
  namespace: string;
  /** The TLS Secret's name. */
  secretName: string;
  /** Offer HTTP/2 to clients (ALPN `h2`). @default {false} */
  http2?: boolean;
  /** The socket keeper's Unix socket: each hitch runs with its shim and its frontend port kept; none: not kept. */
  keeperSocket?: string;
  /** Logger. */
  log: Logger;
  /** Told, after each Secret change, which bundles were left out as unusable (none when all are usable). */
  onRejections?: (rejections: DataPlaneRejection[]) => void;
}

/** The running TLS termination. */
export interface TlsTermination {
  /** One hitch per TLS listener socket, by socket name. */
  readonly hitches: ReadonlyMap<string, HitchSupervisor>;
  /** Stops watching the Secret and stops every hitch. */
  stop(): Promise<void>;
}

/**
 * Starts TLS termination: watches the TLS Secret and, on each change, gives every hitch its usable bundles (a bundle
 * that hitch could not load is skipped with a warning). Certificate updates run one after another.
 *
 * @param client The API client.
 * @param options The sockets and where their certificates come from.
 * @returns The running TLS termination.
 */
export async function startTlsTermination(client: KubeClient, options: TlsTerminationOptions): Promise<TlsTermination> {
  const { log } = options;
  const hitches = new Map(options.sockets.map((socket) => [
    socket.name,
    new HitchSupervisor({
      hitch: options.hitch,
      socket,
      backendPort: options.backendPorts.get(socket.name)!,
      dir: `${options.dir}/${socket.name}`,
      http2: options.http2,
      // Its frontend only: the loopback port it forwards to is varnishd's to bind.
      env: keeperEnv({ socket: options.keeperSocket, preload: KEEPER_PRELOAD_PATH, ports: [socket.port] }),
      log: log.child({ component: "hitch", socket: socket.name }),
    }),
  ]));
  if (hitches.size === 0) return { hitches, stop: () => Promise.resolve() };
  await Deno.mkdir(options.dir, { recursive: true, mode: 0o700 });
  let updates = Promise.resolve();
  const secret = watchTlsSecret(client, {
    namespace: options.namespace,
    name: options.secretName,
    onChange: () => updates = updates.then(() => applyCertificates(secret.current(), hitches, options)),
    log: log.child({ component: "tls" }),
  });
  return {
    hitches,
    async stop() {
      await secret.stop();
      await updates;
      await Promise.all([...hitches.values()].map((h) => h.stop()));
    },
  };
}

async function applyCertificates(
  data: Record<string, string> | undefined,
  hitches: ReadonlyMap<string, HitchSupervisor>,
  options: TlsTerminationOptions,
): Promise<void> {
  const { log } = options;
  if (data === undefined) {
    log.warn("TLS Secret not found", { secret: `${options.namespace}/${options.secretName}` });
    return;
  }
  const rejections: DataPlaneRejection[] = [];
  for (const [name, hitch] of hitches) {
    const { bundles, skipped } = usableTlsBundles(data, name);
    for (const { key, problem } of skipped) {
      log.warn("TLS certificate skipped", { socket: name, key, problem });
      // The bundle's hash lets the operator tell it from a later, fixed one; the PEM itself stays here.
      rejections.push({
        kind: RejectionKind.TlsBundleUnusable,
        hash: contentHash(data[key]),
        message: `${key}: ${problem}`,
      });
    }
    await hitch.update(bundles, clientCasOf(data, name)).catch((err) =>
      log.warn("TLS certificates not applied", { socket: name, err })
    );
  }
  options.onRejections?.(rejections);
}

/**
 * The socket's client certificate verification as the operator wrote it (see `clientVerifyKeys`); none when neither
 * key is there. Fails closed: a damaged pair still requires a client certificate.
 */
function clientCasOf(data: Readonly<Record<string, string>>, socket: string): ClientCas | undefined {
  const keys = clientVerifyKeys(socket);
  const mode = data[keys.verify]?.trim();
  const ca = data[keys.ca];
  if (mode === undefined && ca === undefined) return undefined;
  return { mode: mode === "optional" ? "optional" : "required", ca: ca ?? "" };
}
