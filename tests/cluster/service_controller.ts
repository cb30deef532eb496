/**
 * LoadBalancer Services for the local cluster, as MetalLB plus kube-proxy would provide them: each Service of type
 * LoadBalancer gets an address from a private pool (added to the node bridge inside the cluster's network
 * namespace), `status.loadBalancer.ingress` says so, and a TCP proxy on that address forwards each connection to a
 * ready endpoint (round robin over the Service's EndpointSlices).
 *
 * @module
 */
import { createReflector, type KubeClient, type KubeObject } from "../../internal/kube/mod.ts";
import type { Logger } from "../../internal/log.ts";
import { BRIDGE, LB_POOL_PREFIX } from "./layout.ts";
import { type EndpointSliceLike, pickAddress, readyBackends } from "./lb_pool.ts";
import { runCommand } from "./run_command.ts";

interface Service extends KubeObject {
  spec: { type?: string; ports?: { name?: string; port: number; protocol?: string }[] };
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}

interface Slice extends KubeObject, EndpointSliceLike {}

interface Assigned {
  address: string;
  ports: Map<number, { listener: Deno.TcpListener; portName: string; rr: number }>;
}

/** A running controller. */
export interface LbController {
  /** Closes listeners, removes addresses and stops watching. */
  stop(): Promise<void>;
}

/**
 * Starts the LoadBalancer controller.
 *
 * @param client API client.
 * @param options Logger.
 * @returns The controller.
 */
export async function startLbController(client: KubeClient, options: { log: Logger }): Promise<LbController> {
  const { log } = options;
  const assigned = new Map<string, Assigned>();
  const conns = new Set<Deno.Conn>();
  let stopped = false;
  let queue = Promise.resolve();
  const enqueue = (key: string) => {
    queue = queue.then(() => reconcile(key)).catch((err) => log.warn("LoadBalancer reconcile failed", { key, err }));
  };
  const services = createReflector<Service>(client, {
    path: "/api/v1/services",
    onChange: (o, c) => enqueue(`${(c ?? o)!.metadata.namespace}/${(c ?? o)!.metadata.name}`),
    log,
  });
  const slices = createReflector<Slice>(client, {
    path: "/apis/discovery.k8s.io/v1/endpointslices",
    log,
  });

  function backendsFor(key: string, portName: string) {
    const [ns, name] = key.split("/");
    const mine = slices.list().filter((s) =>
      s.metadata.namespace === ns && s.metadata.labels?.["kubernetes.io/service-name"] === name
    );
    return readyBackends(mine, portName);
  }

  async function serve(key: string, entry: { listener: Deno.TcpListener; portName: string; rr: number }) {
    for await (const conn of entry.listener) {
      const backends = backendsFor(key, entry.portName);
      if (backends.length === 0) {
        conn.close();
        continue;
      }
      const b = backends[entry.rr++ % backends.length];
      conns.add(conn);
      (async () => {
        let upstream: Deno.Conn | undefined;
        try {
          upstream = await Deno.connect({ hostname: b.address, port: b.port });
          conns.add(upstream);
          await Promise.all([
            conn.readable.pipeTo(upstream.writable).catch(() => {}),
            upstream.readable.pipeTo(conn.writable).catch(() => {}),
          ]);
        } catch {
          // backend refused: the client sees a closed connection
        } finally {
          for (const c of [conn, upstream]) {
            if (!c) continue;
            conns.delete(c);
            try {
              c.close();
            } catch {
              // closed by pipeTo
            }
          }
        }
      })();
    }
  }

  async function release(key: string) {
    const a = assigned.get(key);
    if (!a) return;
    for (const p of a.ports.values()) p.listener.close();
    assigned.delete(key);
    await runCommand("ip", { args: ["addr", "del", `${a.address}/32`, "dev", BRIDGE], allowFailure: true });
    log.info("LoadBalancer address released", { service: key, address: a.address });
  }

  async function reconcile(key: string): Promise<void> {
    if (stopped) return;
    const svc = services.get(key);
    if (!svc || svc.spec.type !== "LoadBalancer") return await release(key);
    let a = assigned.get(key);
    if (!a) {
      const used = new Set([...assigned.values()].map((x) => x.address));
      const address = pickAddress({
        prefix: LB_POOL_PREFIX,
        used,
        current: svc.status?.loadBalancer?.ingress?.[0]?.ip,
      });
      if (!address) return log.warn("LoadBalancer pool exhausted", { service: key });
      await runCommand("ip", { args: ["addr", "replace", `${address}/32`, "dev", BRIDGE] });
      a = { address, ports: new Map() };
      assigned.set(key, a);
      log.info("LoadBalancer address assigned", { service: key, address });
    }
    const wanted = new Map(
      (svc.spec.ports ?? []).filter((p) => (p.protocol ?? "TCP") === "TCP").map((p) => [p.port, p.name ?? ""]),
    );
    for (const [port, entry] of a.ports) {
      if (wanted.get(port) !== entry.portName) {
        entry.listener.close();
        a.ports.delete(port);
      }
    }
    for (const [port, portName] of wanted) {
      if (a.ports.has(port)) continue;
      const listener = Deno.listen({ hostname: a.address, port });
      const entry = { listener, portName, rr: 0 };
      a.ports.set(port, entry);
      serve(key, entry).catch(() => {});
    }
    if (svc.status?.loadBalancer?.ingress?.[0]?.ip !== a.address) {
      const [ns, name] = key.split("/");
      await client.request(`/api/v1/namespaces/${ns}/services/${name}/status`, {
        method: "PATCH",
        contentType: "application/merge-patch+json",
        body: { status: { loadBalancer: { ingress: [{ ip: a.address, ipMode: "VIP" }] } } },
      });
    }
  }

  await Promise.all([services.synced, slices.synced]);
  return {
    async stop() {
      stopped = true;
      await Promise.all([services.stop(), slices.stop()]);
      await queue;
      for (const key of [...assigned.keys()]) await release(key);
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // closed
        }
      }
    },
  };
}
