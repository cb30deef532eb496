/**
 * Set-up's background jobs (scripts/lib.sh: start_job, wait_job, check_jobs, finish_jobs) with real bash processes:
 * a job that fails fails set-up with the end of its log and stops the others, Ctrl-C stops every job with what it
 * started, and a warm `scripts/setup.sh kubernetes helm` starts its jobs and finishes in seconds without building.
 *
 * @module
 */
import { ok, strictEqual } from "node:assert/strict";

const scripts = new URL(".", import.meta.url).pathname;
const lib = `${scripts}lib.sh`;

/** A bash script that sources lib.sh in a temporary LACQUER_CACHE, with `$dir` a scratch directory. */
function jobScript(dir: string, body: string): string {
  return `set -euo pipefail\nexport LACQUER_CACHE=${dir}/cache\n. ${lib}\ndir=${dir}\n${body}\n`;
}

/** A job that starts a grandchild sleeping for a minute, writes its pid to $dir/<name>.pid, and waits for it. */
function sleeperJob(name: string): string {
  return `start_job ${name} "$dir/${name}.log" bash -c 'sleep 60 & echo $! >"$1"; wait' _ "$dir/${name}.pid"`;
}

async function run(script: string, env: Record<string, string> = {}) {
  const started = Date.now();
  const out = await new Deno.Command("bash", { args: ["-c", script], env, stdout: "piped", stderr: "piped" }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr), ms: Date.now() - started };
}

async function alive(pid: number): Promise<boolean> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => "");
  // a zombie (state Z) has ended: only its parent has not reaped it yet
  return stat !== "" && !/^\d+ \(.*\) Z/.test(stat);
}

async function pidOf(file: string): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const text = await Deno.readTextFile(file).catch(() => "");
    if (text.trim() !== "") return Number(text.trim());
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${file} was never written`);
}

Deno.test("a failing job fails set-up with the end of its log and stops the jobs still running", async () => {
  const dir = await Deno.makeTempDir({ prefix: "setup-jobs-" });
  try {
    const result = await run(jobScript(
      dir,
      `${sleeperJob("slow")}
start_job bad "$dir/bad.log" bash -c 'sleep 0.5; echo "bad: the reason it failed"; exit 3'
wait_job slow
echo "set-up went on"`,
    ));
    strictEqual(result.code, 1, result.stderr);
    ok(result.stderr.includes("bad: the reason it failed"), result.stderr);
    ok(result.stderr.includes(`bad failed with status 3 (log: ${dir}/bad.log)`), result.stderr);
    ok(!result.stdout.includes("set-up went on"));
    ok(result.ms < 10_000, `took ${result.ms} ms: the slow job was waited for, not stopped`);
    strictEqual(await alive(await pidOf(`${dir}/slow.pid`)), false, "the slow job's child still runs");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("set-up notices a failed job between steps, before anything waits for it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "setup-jobs-" });
  try {
    const result = await run(jobScript(
      dir,
      `${sleeperJob("slow")}
start_job bad "$dir/bad.log" bash -c 'echo "no module"; exit 2'
sleep 1
check_jobs
echo "next step"`,
    ));
    strictEqual(result.code, 1, result.stderr);
    ok(result.stderr.includes("bad failed"), result.stderr);
    ok(!result.stdout.includes("next step"));
    strictEqual(await alive(await pidOf(`${dir}/slow.pid`)), false, "the slow job's child still runs");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the end of set-up waits for the jobs left and fails when one of them failed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "setup-jobs-" });
  try {
    const good = await run(
      jobScript(dir, `start_job late "$dir/late.log" bash -c 'sleep 1; echo built >"$1"' _ "$dir/out"`),
    );
    strictEqual(good.code, 0, good.stderr);
    strictEqual(await Deno.readTextFile(`${dir}/out`), "built\n");
    const bad = await run(jobScript(dir, `start_job late "$dir/late.log" bash -c 'sleep 1; exit 4'`));
    strictEqual(bad.code, 1, bad.stderr);
    ok(bad.stderr.includes("late failed"), bad.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Ctrl-C stops set-up and every job with what it started", async () => {
  const dir = await Deno.makeTempDir({ prefix: "setup-jobs-" });
  try {
    const child = new Deno.Command("bash", {
      args: ["-c", jobScript(dir, `${sleeperJob("slow")}\necho ready\nwait_job slow`)],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.getReader();
    const { value } = await reader.read();
    strictEqual(new TextDecoder().decode(value), "ready\n");
    const pid = await pidOf(`${dir}/slow.pid`);
    ok(await alive(pid));
    child.kill("SIGINT");
    const status = await child.status;
    reader.releaseLock();
    await child.stdout.cancel();
    await child.stderr.cancel();
    strictEqual(status.code, 130);
    strictEqual(await alive(pid), false, "the job's child survived Ctrl-C");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a warm set-up of the Go builds starts their jobs and ends in seconds, building nothing", async () => {
  const cache = Deno.env.get("LACQUER_CACHE") ?? `${Deno.env.get("HOME")}/.cache/lacquer`;
  for (const tool of ["kube-apiserver", "kubectl", "etcd", "containerd", "coredns", "echo-basic", "helm"]) {
    ok(await Deno.stat(`${cache}/bin/${tool}`).then(() => true, () => false), `no ${tool}: run scripts/setup.sh first`);
  }
  const dir = await Deno.makeTempDir({ prefix: "setup-warm-" });
  try {
    // A cache of its own whose build directories are the real cache's, and a go that fails when asked to build, so
    // that this test never builds (nor writes into the real cache's builds) when the real cache is not warm.
    await Deno.mkdir(`${dir}/cache`);
    for (const part of ["kube", "etcd", "gateway-api", "containerd", "coredns", "helm"]) {
      await Deno.symlink(`${cache}/${part}`, `${dir}/cache/${part}`);
    }
    const go = (await run("command -v go")).stdout.trim();
    await Deno.mkdir(`${dir}/bin`);
    await Deno.writeTextFile(
      `${dir}/bin/go`,
      `#!/bin/sh\ncase "$1" in version|env|mod) exec ${go} "$@" ;; esac\necho "go $1: a warm run must not build" >&2\nexit 1\n`,
      { mode: 0o755 },
    );
    const result = await run(`bash ${scripts}setup.sh kubernetes helm`, {
      LACQUER_CACHE: `${dir}/cache`,
      PATH: `${dir}/bin:${Deno.env.get("PATH")}`,
    });
    strictEqual(result.code, 0, result.stderr);
    const lines = result.stderr.split("\n");
    for (const part of ["kubernetes", "etcd", "gateway-api", "containerd", "coredns", "helm"]) {
      ok(lines.some((l) => l.includes(` ${part} v`) && l.endsWith(" cached")), `${part} not cached:\n${result.stderr}`);
    }
    ok(result.ms < 15_000, `a warm run took ${result.ms} ms`);
    for (const tool of ["kube-apiserver", "kubectl", "etcd", "containerd", "coredns", "echo-basic", "helm"]) {
      strictEqual(await Deno.realPath(`${dir}/cache/bin/${tool}`), await Deno.realPath(`${cache}/bin/${tool}`));
    }
    ok((await Deno.stat(`${dir}/cache/gateway-api-crds/standard.yaml`)).size > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
