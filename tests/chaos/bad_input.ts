/**
 * Chaos scenarios of bad input: a user VCL that does not compile and one whose `vcl_init` fails, route rules with
 * regexes that cannot be used, a route too big for the Gateway's routing budget, and a ghost.json corrupted on a
 * gateway pod's disk. Each must be refused and reported while every request keeps its answer.
 */
import { equal, match, notEqual, ok } from "node:assert/strict";
import { GHOST_CONTROL_PORT, GHOST_RELOAD_PATH } from "../../internal/names.ts";
import { eventually, runCommand } from "../cluster/mod.ts";
import { apply, get, GW_API } from "../e2e/_e2e_gateway.ts";
import { type ChaosGateway, userVcl } from "./chaos_gateway.ts";
import { podProcesses } from "./processes.ts";
import { type Scenario, since } from "./scenario.ts";

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

async function programmed(sys: ChaosGateway): Promise<Condition | undefined> {
  const gw = await sys.client.request<{ status?: { conditions?: Condition[] } }>(
    `${GW_API}/namespaces/${sys.ns}/gateways/${sys.gw.gateway}`,
  );
  return gw.status?.conditions?.find((c) => c.type === "Programmed");
}

/** Where the chaperone writes ghost.json in the gateway container. */
const GHOST_JSON = "/var/run/lacquer/ghost.json";

const setVcl = (sys: ChaosGateway, body?: string) =>
  apply(sys.client, `/api/v1/namespaces/${sys.ns}/configmaps`, userVcl(sys.ns, body));

/** Both bad VCLs in turn, each until the Gateway reports it; recovery: the good VCL back until Programmed again. */
export const badVcl: Scenario = {
  name: "bad user VCL (syntax error, then failing vcl_init)",
  target: "no-failures",
  async run(sys) {
    for (const bad of ['if (req.url ~ "x" {', 'set resp.http.X-Chaos = "2";\n}\nsub vcl_init {\n    return (fail);']) {
      await setVcl(sys, bad);
      await eventually(async () => notEqual((await programmed(sys))?.status, "True", "Programmed"), {
        timeoutMs: 120_000,
        intervalMs: 250,
      });
    }
    const t0 = performance.now();
    await setVcl(sys);
    await eventually(async () => equal((await programmed(sys))?.status, "True", "Programmed"), {
      timeoutMs: 120_000,
      intervalMs: 250,
    });
    return since(t0);
  },
};

interface RouteStatus {
  status?: { parents?: { conditions?: Condition[] }[] };
}

const routesPath = (sys: ChaosGateway) => `${GW_API}/namespaces/${sys.ns}/httproutes`;

async function routeConditions(sys: ChaosGateway, name: string): Promise<Condition[]> {
  const r = await sys.client.request<RouteStatus>(`${routesPath(sys)}/${name}`);
  return r.status?.parents?.flatMap((p) => p.conditions ?? []) ?? [];
}

async function deleteRoute(sys: ChaosGateway, name: string): Promise<void> {
  await sys.client.request(`${routesPath(sys)}/${name}`, { method: "DELETE" }).catch(() => {});
}

/**
 * A route with an unbalanced regex, a regex only a backtracking engine knows (lookahead), and one good rule: the
 * bad rules are left out and reported; recovery: the route's good rule served.
 */
export const badRegex: Scenario = {
  name: "bad regex in a route",
  target: "no-failures",
  async run(sys) {
    const t0 = performance.now();
    await sys.applyRoute("bad-regex", [
      {
        matches: [{ path: { type: "RegularExpression", value: "/bad(" } }],
        backendRefs: [{ name: "blue", port: 8080 }],
      },
      {
        matches: [{ path: { type: "RegularExpression", value: "/look(?=ahead).*" } }],
        backendRefs: [{ name: "blue", port: 8080 }],
      },
      {
        matches: [{ path: { type: "PathPrefix", value: "/regex-ok" } }],
        backendRefs: [{ name: "green", port: 8080 }],
      },
    ]);
    await sys.served("/regex-ok", "green");
    const recovery = since(t0);
    await eventually(async () => {
      const partly = (await routeConditions(sys, "bad-regex")).find((c) => c.type === "PartiallyInvalid");
      equal(partly?.status, "True", "the route reports its bad rules");
      match(partly!.message, /^Dropped Rule/);
    }, { timeoutMs: 60_000 });
    // neither bad rule serves: its paths fall to no route at all
    equal((await get(sys.address, "/bad(")).status, 404);
    equal((await get(sys.address, "/lookahead")).status, 404);
    return recovery;
  },
  cleanup: (sys) => deleteRoute(sys, "bad-regex"),
};

/** Random base64 characters: they do not compress, so the route's size survives the ConfigMap's gzip. */
function noise(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(Math.ceil(length * 3 / 4)));
  return btoa(String.fromCharCode(...bytes)).slice(0, length);
}

/**
 * A route over the Gateway's routing budget (about 1.1 MB of header matches): refused with a reason, while the
 * others serve and change; recovery: a change of an older route served.
 */
export const oversizedRoute: Scenario = {
  name: "oversized route",
  target: "no-failures",
  probes: [{ path: "/before-oversized", apps: ["blue", "green"] }],
  async prepare(sys) {
    await sys.routeTo("before-oversized", "/before-oversized", "blue");
    await sys.served("/before-oversized", "blue");
  },
  async run(sys) {
    const matches = Array.from({ length: 64 }, (_, m) => ({
      path: { type: "PathPrefix", value: `/big-${m}` },
      headers: Array.from({ length: 16 }, (_, h) => ({ name: `x-big-${h}`, value: noise(1100) })),
    }));
    await sys.applyRoute("oversized", [{ matches, backendRefs: [{ name: "blue", port: 8080 }] }]);
    await eventually(async () => {
      const reasons = (await routeConditions(sys, "oversized")).map((c) => c.reason);
      ok(reasons.includes("RoutingBudgetExceeded"), `the route is refused for the budget: ${reasons}`);
    }, { timeoutMs: 120_000, intervalMs: 500 });
    // a change of an older route still reaches the gateway pods (a route newer than the refused one is refused
    // too: the budget keeps the oldest routes that fit, in precedence order)
    const t0 = performance.now();
    await sys.routeTo("before-oversized", "/before-oversized", "green");
    await sys.served("/before-oversized", "green");
    return since(t0);
  },
  cleanup: (sys) => deleteRoute(sys, "oversized"),
};

/**
 * ghost.json overwritten with garbage on one gateway pod's disk, ghost asked to reload it (it must refuse and keep
 * its table), then a user VCL change loads a new VCL on every pod (its ghost starts from the file); recovery: the new
 * VCL answering through both pods.
 */
export const corruptGhostJson: Scenario = {
  name: "corrupted ghost.json",
  target: "no-failures",
  async run(sys) {
    const [pod] = await sys.settled();
    const [chaperone] = (await podProcesses(sys.ns, pod.metadata.name))
      .filter((p) => p.comm === "deno" && p.cmdline.includes("chaperone"));
    ok(chaperone, `the chaperone of ${pod.metadata.name}`);
    const t0 = performance.now();
    // written from inside the container's mount namespace: its /var/run may be a symbolic link to /run, which from
    // outside would resolve to this machine's /run
    await runCommand("nsenter", {
      args: [
        `--mount=/proc/${chaperone.pid}/ns/mnt`,
        "--",
        "sh",
        "-c",
        `printf '{"version": 1, "hosts": [' >${GHOST_JSON}`,
      ],
    });
    const reload = await runCommand("nsenter", {
      args: [
        `--net=/proc/${chaperone.pid}/ns/net`,
        "--",
        "curl",
        "-s",
        "-w",
        "\n%{http_code}",
        `http://127.0.0.1:${GHOST_CONTROL_PORT}${GHOST_RELOAD_PATH}`,
      ],
    });
    match(reload.stdout, /\n500$/, `ghost refuses the corrupted file: ${reload.stdout}`);
    await setVcl(sys, 'set resp.http.X-Chaos = "corrupt";');
    await eventually(async () => {
      for (let i = 0; i < 4; i++) equal((await get(sys.address, "/blue")).headers.get("x-chaos"), "corrupt");
    }, { timeoutMs: 120_000, intervalMs: 100 });
    return since(t0);
  },
  cleanup: (sys) => setVcl(sys),
};
