/**
 * A throwaway one-node Slurm cluster on this machine, for tests: its own munge key and
 * `munged` (run as user munge through `setpriv`), a `slurm.conf` naming this host at
 * 127.0.0.1 with free ports, `ProctrackType=proctrack/linuxproc` and `TaskPlugin=task/none`
 * (no cgroups, no systemd), and `slurmctld` and `slurmd` in the foreground, every file under
 * one temporary folder. Client commands reach it through `SLURM_CONF`. `stop` cancels its
 * jobs, ends the three daemons it started (by their pids, nothing else) and removes the
 * folder. Needs root (slurmd) and Debian's `slurm-wlm` and `munge`.
 *
 * @module
 */

/** The programs the cluster needs. */
const PROGRAMS = [
  "munged",
  "setpriv",
  "slurmctld",
  "slurmd",
  "sbatch",
  "scontrol",
  "scancel",
  "sinfo",
] as const;

const SEARCH = ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin", "/usr/local/bin"];

function which(name: string): string | null {
  for (const dir of [...(Deno.env.get("PATH") ?? "").split(":"), ...SEARCH]) {
    if (dir === "") continue;
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch { /* not here */ }
  }
  return null;
}

/**
 * Why a cluster cannot start here, or null when it can.
 * @returns a reason for a test name ("slurm-wlm and munge are not installed: no …")
 */
export function clusterUnavailable(): string | null {
  const missing = PROGRAMS.filter((p) => which(p) === null);
  if (missing.length > 0) {
    return `slurm-wlm and munge are not installed (no ${missing.join(", ")})`;
  }
  if (Deno.uid() !== 0) return "slurmd needs root";
  return null;
}

/** A running cluster. */
export interface SlurmCluster {
  /** The temporary folder holding its configuration, state and logs. */
  readonly dir: string;
  /** The environment client commands need (`SLURM_CONF`). */
  readonly env: Record<string, string>;
  /**
   * Runs a Slurm client command against this cluster.
   * @returns its exit code and output
   */
  run(
    program: string,
    args: string[],
    opts?: { cwd?: string; env?: Record<string, string> },
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  /** The last lines of its daemons' logs, for failure messages. */
  logs(): string;
  /** Cancels its jobs, stops its daemons and removes its folder. */
  stop(): Promise<void>;
}

async function output(program: string, args: string[]): Promise<string> {
  const r = await new Deno.Command(program, { args, stdout: "piped", stderr: "piped" }).output();
  if (!r.success) {
    throw new Error(`${program} ${args.join(" ")} failed: ${new TextDecoder().decode(r.stderr)}`);
  }
  return new TextDecoder().decode(r.stdout);
}

function freePort(): number {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      Deno.listen({ hostname: "127.0.0.1", port: port + 1 }).close();
      return port;
    } catch { /* taken: try another */ }
  }
}

async function until(what: string, test: () => Promise<boolean>, ms: number, logs: () => string) {
  const end = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`Slurm test cluster: ${what} after ${ms} ms\n${logs()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Starts a one-node cluster and waits until its node is idle.
 * @returns the running cluster; call `stop` in a `finally`
 */
export async function startCluster(): Promise<SlurmCluster> {
  const dir = await Deno.makeTempDir({ prefix: "rnnbench-slurm-" });
  await Deno.chmod(dir, 0o755); // munged, running as munge, reaches its socket through it
  const daemons: Deno.ChildProcess[] = [];
  const tail = (file: string) => {
    try {
      return Deno.readTextFileSync(`${dir}/${file}`).split("\n").slice(-15).join("\n");
    } catch {
      return "(no log)";
    }
  };
  const logs = () =>
    ["munged.log", "slurmctld.log", "slurmd.log"].map((f) => `--- ${f}\n${tail(f)}`).join("\n");
  const conf = `${dir}/slurm.conf`;
  const env = { SLURM_CONF: conf };
  const stop = async () => {
    await new Deno.Command(which("scancel")!, { args: ["--full", "--user", "root"], env })
      .output().catch(() => {});
    for (const d of daemons.reverse()) {
      try {
        d.kill("SIGTERM");
      } catch { /* already ended */ }
      const timer = setTimeout(() => {
        try {
          d.kill("SIGKILL");
        } catch { /* ended meanwhile */ }
      }, 10_000);
      await d.status;
      clearTimeout(timer);
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    const uid = Number(await output("id", ["-u", "munge"]));
    const gid = Number(await output("id", ["-g", "munge"]));
    for (const [sub, mode] of [["munge", 0o700], ["munge-run", 0o755]] as const) {
      await Deno.mkdir(`${dir}/${sub}`, { mode });
      await Deno.chown(`${dir}/${sub}`, uid, gid);
    }
    const key = `${dir}/munge/munge.key`;
    await Deno.writeFile(key, crypto.getRandomValues(new Uint8Array(1024)), { mode: 0o400 });
    await Deno.chown(key, uid, gid);
    await Deno.writeTextFile(`${dir}/munged.log`, "");
    await Deno.chown(`${dir}/munged.log`, uid, gid);
    const socket = `${dir}/munge-run/munge.socket`;
    daemons.push(
      new Deno.Command(which("setpriv")!, {
        args: [
          `--reuid=${uid}`,
          `--regid=${gid}`,
          "--init-groups",
          which("munged")!,
          "--foreground",
          `--socket=${socket}`,
          `--key-file=${key}`,
          `--pid-file=${dir}/munge-run/munged.pid`,
          `--seed-file=${dir}/munge/munged.seed`,
          `--log-file=${dir}/munged.log`,
        ],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn(),
    );
    await until(
      "munged did not create its socket",
      async () => {
        return await Deno.stat(socket).then(() => true, () => false);
      },
      10_000,
      logs,
    );

    // `slurmd -C` prints this node as slurm.conf wants it: name, CPUs, sockets, memory.
    const node = (await output(which("slurmd")!, ["-C"])).split("\n")[0]!.trim();
    const name = node.match(/^NodeName=(\S+)/)?.[1];
    if (name === undefined) throw new Error(`Unexpected output of slurmd -C: ${node}`);
    const port = freePort();
    await Deno.mkdir(`${dir}/state`);
    await Deno.mkdir(`${dir}/spool`);
    await Deno.writeTextFile(
      conf,
      [
        "ClusterName=rnnbench-test",
        `SlurmctldHost=${name}(127.0.0.1)`,
        `SlurmctldPort=${port}`,
        `SlurmdPort=${port + 1}`,
        "AuthType=auth/munge",
        "CredType=cred/munge",
        `AuthInfo=socket=${socket}`,
        "SlurmUser=root",
        "SlurmdUser=root",
        `StateSaveLocation=${dir}/state`,
        `SlurmdSpoolDir=${dir}/spool`,
        `SlurmctldPidFile=${dir}/slurmctld.pid`,
        `SlurmdPidFile=${dir}/slurmd.pid`,
        `SlurmctldLogFile=${dir}/slurmctld.log`,
        `SlurmdLogFile=${dir}/slurmd.log`,
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "SchedulerType=sched/builtin",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_CPU",
        "MpiDefault=none",
        "ReturnToService=2",
        "MinJobAge=600",
        `${node} NodeAddr=127.0.0.1 State=UNKNOWN`,
        "PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
        "",
      ].join("\n"),
    );
    const daemon = (program: string, args: string[]) =>
      new Deno.Command(which(program)!, {
        args,
        env,
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
    daemons.push(daemon("slurmctld", ["-D", "-i", "-f", conf]));
    daemons.push(daemon("slurmd", ["-D", "-f", conf, "-N", name]));
    const run = async (
      program: string,
      args: string[],
      opts: { cwd?: string; env?: Record<string, string> } = {},
    ) => {
      const r = await new Deno.Command(which(program) ?? program, {
        args,
        env: { ...opts.env, ...env },
        stdout: "piped",
        stderr: "piped",
        ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
      }).output();
      const text = new TextDecoder();
      return { code: r.code, stdout: text.decode(r.stdout), stderr: text.decode(r.stderr) };
    };
    await until(
      "the node did not become idle",
      async () => {
        const r = await run("sinfo", ["--noheader", "--format=%T"]);
        return r.code === 0 && r.stdout.trim() === "idle";
      },
      30_000,
      logs,
    );
    return { dir, env, run, logs, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
