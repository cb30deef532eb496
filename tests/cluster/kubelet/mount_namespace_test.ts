import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { withBindMounts } from "./mount_namespace.ts";

Deno.test("withBindMounts() leaves a command without mounts unchanged", () => {
  const command = { program: "echo-basic", args: [] };
  deepStrictEqual(withBindMounts(command, []), command);
  deepStrictEqual(withBindMounts(command, [{ source: "/x", target: "/" }]), command);
});

Deno.test("withBindMounts() mounts each volume at its path in a private namespace, then execs the program", () => {
  const wrapped = withBindMounts({ program: "deno", args: ["run", "it's.ts"] }, [
    { source: "/pods/p1/root/var/run/lacquer", target: "/var/run/lacquer/" },
  ]);
  strictEqual(wrapped.program, "unshare");
  deepStrictEqual(wrapped.args.slice(0, 6), ["--mount", "--propagation", "private", "--", "sh", "-c"]);
  strictEqual(
    wrapped.args[6],
    "set -e; if [ -d '/pods/p1/root/var/run/lacquer' ]; then mkdir -p '/var/run/lacquer'; " +
      `else mkdir -p "$(dirname '/var/run/lacquer')"; [ -e '/var/run/lacquer' ] || : > '/var/run/lacquer'; fi; ` +
      `mount --bind '/pods/p1/root/var/run/lacquer' '/var/run/lacquer'; exec "$0" "$@"`,
  );
  deepStrictEqual(wrapped.args.slice(7), ["deno", "run", "it's.ts"]);
});

Deno.test("withBindMounts() makes the mount visible to the process only", async () => {
  if (Deno.uid() !== 0) return;
  const dir = await Deno.makeTempDir();
  const target = `${dir}/target`;
  await Deno.mkdir(`${dir}/source`);
  await Deno.writeTextFile(`${dir}/source/hello`, "from the pod");
  const { program, args } = withBindMounts({ program: "cat", args: [`${target}/hello`] }, [
    { source: `${dir}/source`, target },
  ]);
  const out = await new Deno.Command(program, { args, stdout: "piped", stderr: "piped" }).output();
  strictEqual(new TextDecoder().decode(out.stdout), "from the pod");
  // outside the namespace the mount point is an empty directory
  deepStrictEqual([...Deno.readDirSync(target)], []);
  await Deno.remove(dir, { recursive: true });
});
