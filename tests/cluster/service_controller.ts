/**
 * Service addresses for the local cluster, as MetalLB plus kube-proxy would provide them:
 *
 * - every Service of type LoadBalancer gets an address from a private pool and `status.loadBalancer.ingress` says
 *   so; a Service that asks for addresses (`spec.loadBalancerIP`, or several in MetalLB's annotation) gets all of
 *   them when each is in the pool and free, else none, and its condition `lacquer.dev/LoadBalancerAddresses` says
 *   why (the operator reports it on the Gateway);
 * - that address and every Service's ClusterIP are added to the node bridge inside the cluster's network namespace,
 *   and a TCP proxy on each Service port forwards every connection to a ready endpoint (round robin over the
 *   Service's EndpointSlices, seen one second late, as kube-proxy's rules lag behind), so pods and tests can use
 *   ClusterIPs and LoadBalancer addresses alike.
 *
 * With the real node, kube-proxy runs and programs both kinds of address itself: the controller then only assigns
 * LoadBalancer addresses (`proxy: false`).
 *
 * @module
 */
import { createReflector, type KubeClient, type KubeObject, objectKey } from "../../internal/kube/mod.ts";
import type { Logger } from "../../internal/log.ts";
import { LB_ADDRESSES_CONDITION, LB_IPS_ANNOTATION } from "../../internal/names.ts";
import { BRIDGE, LB_POOL_PREFIX } from "./layout.ts";
import { assignAddresses, type EndpointSliceLike, readyBackends } from "./lb_pool.ts";
import { runCommand } from "./run_command.ts";

interface Service extends KubeObject {
  spec: {
    type?: string;
    clusterIP?: string;
    loadBalancerClass?: string;
    loadBalancerIP?: string;
    ports?: { name?: string; port: number; protocol?: string }[];
  };
  status?: {
    loadBalancer?: { ingress?: { ip?: string }[] };
    conditions?: { type: string; status: string; message?: string }[];
  };
}

/** The addresses a Service asks for: MetalLB's annotation, else `spec.loadBalancerIP`. */
function requestedIps(svc: Service): string[] {
  const listed = svc.metadata.annotations?.[LB_IPS_ANNOTATION];
  if (listed) return listed.split(",").map((ip) => ip.trim()).filter((ip) => ip);
  return svc.spec.loadBalancerIP ? [svc.spec.loadBalancerIP] : [];
}

interface Slice extends KubeObject, EndpointSliceLike {}

/**
 * How long an EndpointSlice change takes to reach the proxies. kube-proxy programs its rules some time after a change
 * too (its sync period), so a pod that stops serving the moment it is told to terminate, rather than draining, drops
 * connections here as it would in a real cluster.
 */
const PROGRAMMING_DELAY_MS = 1000;

interface Forward {
  service: string;
  portName: string;
  listener: Deno.TcpListener;
  rr: number;
}

/** A running controller. */
export interface ServiceController {
  /** Closes listeners, removes addresses and stops watching. */
  stop(): Promise<void>;
}

/**
 * Starts the Service address controller.
 *
 * @param client API client.
 * @param options Logger; whether to proxy Service addresses (default) or only assign LoadBalancer addresses.
 * @returns The controller.
 */
export async function startServiceController(
  client: KubeClient,
  options: { log: Logger; proxy?: boolean },
): Promise<ServiceController> {
  const { log } = options;
  const proxy = options.proxy ?? true;
  /** LoadBalancer addresses per Service key. */
  const lbAddresses = new Map<string, string[]>();
  /** Proxies by "address:port". */
  const forwards = new Map<string, Forward>();
  /** Addresses on the bridge, with the number of Services using each. */
  const addresses = new Map<string, number>();
  const conns = new Set<Deno.Conn>();
  let stopped = false;
  let queue = Promise.resolve();
  const enqueue = (key: string) => {
    queue = queue.then(() => reconcile(key)).catch((err) => log.warn("Service reconcile failed", { key, err }));
  };
  const services = createReflector<Service>(client, {
    path: "/api/v1/services",
    onChange: (o, c) => enqueue(`${(c ?? o)!.metadata.namespace}/${(c ?? o)!.metadata.name}`),
    log,
  });
  /** The EndpointSlices as the proxies see them: PROGRAMMING_DELAY_MS behind the API server, in order. */
  const programmed = new Map<string, Slice>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const slices = proxy && createReflector<Slice>(client, {
    path: "/apis/discovery.k8s.io/v1/endpointslices",
    onChange: (old, cur) => {
      const key = objectKey((cur ?? old)!);
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (cur) programmed.set(key, cur);
        else programmed.delete(key);
      }, PROGRAMMING_DELAY_MS);
      timers.add(timer);
    },
    log,
  });

  function backendsFor(key: string, portName: string) {
    const [ns, name] = key.split("/");
    const mine = [...programmed.values()].filter((s) =>
      s.metadata.namespace === ns && s.metadata.labels?.["kubernetes.io/service-name"] === name
    );
    return readyBackends(mine, portName);
  }

  function closeQuietly(c: Deno.Conn | Deno.TcpListener | undefined) {
    try {
      c?.close();
    } catch {
      // closed already
    }
  }

  async function serve(f: Forward) {
    for await (const conn of f.listener) {
      const backends = backendsFor(f.service, f.portName);
      if (backends.length === 0) {
        conn.close();
        continue;
      }
      const b = backends[f.rr++ % backends.length];
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
            if (c) conns.delete(c);
            closeQuietly(c);
          }
        }
      })();
    }
  }

  async function addAddress(address: string) {
    const n = addresses.get(address) ?? 0;
    if (n === 0) await runCommand("ip", { args: ["addr", "replace", `${address}/32`, "dev", BRIDGE] });
    addresses.set(address, n + 1);
  }

  async function dropAddress(address: string) {
    const n = (addresses.get(address) ?? 1) - 1;
    if (n > 0) return void addresses.set(address, n);
    addresses.delete(address);
    await runCommand("ip", { args: ["addr", "del", `${address}/32`, "dev", BRIDGE], allowFailure: true });
  }

  async function reconcile(key: string): Promise<void> {
    if (stopped) return;
    const svc = services.get(key);
    // 1. the LoadBalancer address
    // a Service that names another load balancer class is not ours
    const isLb = svc?.spec.type === "LoadBalancer" && !svc.spec.loadBalancerClass;
    let lb = lbAddresses.get(key);
    let problem: string | undefined;
    if (isLb) {
      const requested = requestedIps(svc);
      const keep = lb && (requested.length === 0 || requested.join(",") === lb.join(","));
      if (!keep) {
        const used = new Set([...lbAddresses].filter(([k]) => k !== key).flatMap(([, ips]) => ips));
        // without a request, the address it had survives a restart of this controller
        const assignment = assignAddresses({
          prefix: LB_POOL_PREFIX,
          used,
          requested,
          current: svc.status?.loadBalancer?.ingress?.[0]?.ip,
        });
        problem = assignment.problem;
        lb = assignment.addresses;
        if (lb) {
          lbAddresses.set(key, lb);
          log.info("LoadBalancer addresses assigned", { service: key, addresses: lb });
        } else {
          lbAddresses.delete(key);
          log.warn("LoadBalancer addresses not assigned", { service: key, problem });
        }
      }
    } else if (lb) {
      lbAddresses.delete(key);
      log.info("LoadBalancer addresses released", { service: key, addresses: lb });
      lb = undefined;
    }
    // 2. the proxies this Service wants
    const wanted = new Map<string, string>();
    const ips = [svc?.spec.clusterIP, ...(isLb && lb ? lb : [])].filter((ip): ip is string =>
      proxy &&
      !!ip && ip !== "None" && !ip.includes(":")
    );
    for (const ip of ips) {
      for (const p of svc?.spec.ports ?? []) {
        if ((p.protocol ?? "TCP") === "TCP") wanted.set(`${ip}:${p.port}`, p.name ?? "");
      }
    }
    for (const [addr, f] of forwards) {
      if (f.service !== key || wanted.get(addr) === f.portName) continue;
      closeQuietly(f.listener);
      forwards.delete(addr);
      await dropAddress(addr.slice(0, addr.lastIndexOf(":")));
    }
    for (const [addr, portName] of wanted) {
      if (forwards.has(addr)) continue;
      const ip = addr.slice(0, addr.lastIndexOf(":"));
      await addAddress(ip);
      try {
        const listener = Deno.listen({ hostname: ip, port: Number(addr.slice(ip.length + 1)) });
        const f = { service: key, portName, listener, rr: 0 };
        forwards.set(addr, f);
        serve(f).catch(() => {});
      } catch (err) {
        await dropAddress(ip);
        log.warn("Service proxy cannot listen", { service: key, address: addr, err });
      }
    }
    // 3. the status
    if (svc && isLb) await writeStatus(svc, lb ?? [], problem);
  }

  async function writeStatus(svc: Service, ips: readonly string[], problem: string | undefined) {
    const current = svc.status?.conditions?.find((c) => c.type === LB_ADDRESSES_CONDITION);
    const status = problem ? "False" : "True";
    const message = problem ?? `assigned ${ips.join(", ")}`;
    const currentIps = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).join(",");
    if (currentIps === ips.join(",") && current?.status === status && current.message === message) return;
    const others = (svc.status?.conditions ?? []).filter((c) => c.type !== LB_ADDRESSES_CONDITION);
    const condition = {
      type: LB_ADDRESSES_CONDITION,
      status,
      reason: problem ? "AddressNotUsable" : "Assigned",
      message,
      lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    };
    await client.request(`/api/v1/namespaces/${svc.metadata.namespace}/services/${svc.metadata.name}/status`, {
      method: "PATCH",
      contentType: "application/merge-patch+json",
      body: {
        status: {
          loadBalancer: { ingress: ips.map((ip) => ({ ip, ipMode: "VIP" })) },
          conditions: [...others, condition],
        },
      },
    });
  }

  await Promise.all([services.synced, slices && slices.synced]);
  return {
    async stop() {
      stopped = true;
      await Promise.all([services.stop(), slices && slices.stop()]);
      for (const timer of timers) clearTimeout(timer);
      await queue;
      for (const f of forwards.values()) closeQuietly(f.listener);
      for (const c of conns) closeQuietly(c);
      for (const a of [...addresses.keys()]) {
        await runCommand("ip", { args: ["addr", "del", `${a}/32`, "dev", BRIDGE], allowFailure: true });
      }
    },
  };
}
