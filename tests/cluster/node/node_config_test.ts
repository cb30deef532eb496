import { ok, strictEqual, throws } from "node:assert/strict";
import { parse } from "yaml";
import {
  cniConflist,
  containerdConfig,
  kubeletConfig,
  kubeProxyConfig,
  type NodeConfigOptions,
} from "./node_config.ts";

const options: NodeConfigOptions = {
  dir: "/tmp/lacquer/t1/node",
  nodeName: "lacquer-node",
  nodeIp: "10.244.0.1",
  podCidr: "10.244.0.0/16",
  bridge: "lqbr0",
  cgroupRoot: "/lacquer-t1",
  clusterDns: "10.96.0.10",
  pauseImage: "registry.k8s.io/pause:3.10.2",
  cniBinDir: "/usr/lib/cni",
  runc: "/usr/sbin/runc",
};

Deno.test("containerdConfig() keeps every path of containerd and runc below the node directory", () => {
  const text = containerdConfig(options);
  const paths = [...text.matchAll(/= "(\/[^"]*)"/g)].map((m) => m[1]);
  const outside = paths.filter((p) => !p.startsWith(options.dir) && p !== options.cniBinDir && p !== options.runc);
  strictEqual(outside.join(","), "");
  ok(text.includes(`Root = "${options.dir}/containerd/runc"`), "runc state is ours");
  ok(text.includes("restrict_oom_score_adj = true"), "no CAP_SYS_RESOURCE here");
  ok(text.includes(`sandbox = "${options.pauseImage}"`));
});

Deno.test("cniConflist() bridges pods onto the node's bridge with the node address as gateway", () => {
  const conf = JSON.parse(cniConflist(options));
  const bridge = conf.plugins[0];
  strictEqual(bridge.bridge, "lqbr0");
  strictEqual(bridge.ipam.ranges[0][0].gateway, "10.244.0.1");
  strictEqual(bridge.ipam.ranges[0][0].rangeStart, "10.244.1.1");
  ok(bridge.ipam.dataDir.startsWith(options.dir));
  throws(() => cniConflist({ ...options, podCidr: "10.244.0.0/24" }), RangeError);
});

Deno.test("kubeletConfig() and kubeProxyConfig() are valid YAML with the node's settings", () => {
  const kubelet = parse(kubeletConfig(options, { caCert: "/p/ca.crt", cert: "/p/k.crt", key: "/p/k.key" }));
  strictEqual(kubelet.cgroupRoot, "/lacquer-t1");
  strictEqual(kubelet.containerRuntimeEndpoint, `unix://${options.dir}/containerd/containerd.sock`);
  strictEqual(kubelet.clusterDNS[0], "10.96.0.10");
  strictEqual(kubelet.authentication.x509.clientCAFile, "/p/ca.crt");
  strictEqual(kubelet.failCgroupV1, false);
  const proxy = parse(kubeProxyConfig(options));
  strictEqual(proxy.mode, "nftables");
  strictEqual(proxy.conntrack.maxPerCore, 0);
  strictEqual(proxy.nodePortAddresses[0], "10.244.0.1/32");
});
