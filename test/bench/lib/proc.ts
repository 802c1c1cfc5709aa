/** Linux /proc helpers: the workerd process under a Worker launcher, its memory (VmHWM / VmRSS), CPU time, sockets and open files. */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

export interface ProcInfo {
  pid: number;
  ppid: number;
  comm: string;
  cmdline: string;
}

export function listProcs(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const ppid = Number(stat.slice(close + 2).split(" ")[1]);
      const cmdline = readFileSync(`/proc/${d}/cmdline`, "utf8").replace(/\0/g, " ").trim();
      out.push({ pid: Number(d), ppid, comm, cmdline });
    } catch {
      /* gone */
    }
  }
  return out;
}

export function descendants(root: number, procs = listProcs()): ProcInfo[] {
  const kids = new Map<number, ProcInfo[]>();
  for (const p of procs) (kids.get(p.ppid) ?? kids.set(p.ppid, []).get(p.ppid)!).push(p);
  const out: ProcInfo[] = [];
  const stack = [root];
  while (stack.length) {
    for (const c of kids.get(stack.pop()!) ?? []) {
      out.push(c);
      stack.push(c.pid);
    }
  }
  return out;
}

/** The workerd processes below `root` (wrangler dev spawns one `workerd serve …`). */
export function workerdBelow(root: number): ProcInfo[] {
  return descendants(root).filter((p) => p.comm === "workerd" || /\/workerd\b/.test(p.cmdline.split(" ")[0] ?? ""));
}

/** Every process (this machine, any parent) with a file under `dir` open: e.g. a workerd that outlived its killed group. */
export function holdersOf(dir: string): Array<ProcInfo & { files: string[] }> {
  const out: Array<ProcInfo & { files: string[] }> = [];
  for (const p of listProcs()) {
    const files: string[] = [];
    try {
      for (const fd of readdirSync(`/proc/${p.pid}/fd`)) {
        try {
          const target = readlinkSync(`/proc/${p.pid}/fd/${fd}`);
          if (target.startsWith(dir + "/")) files.push(target.slice(dir.length + 1));
        } catch {
          /* closed meanwhile */
        }
      }
    } catch {
      /* gone, or not ours to read */
    }
    if (files.length) out.push({ ...p, files });
  }
  return out;
}

/** Open sockets of a process (its fds that are sockets), or null when it is gone. */
export function socketsOf(pid: number): number | null {
  try {
    let n = 0;
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith("socket:")) n++;
      } catch {
        /* closed meanwhile */
      }
    }
    return n;
  } catch {
    return null;
  }
}

/** The Worker launchers (demo/edge-worker.ts, one per local Worker) below `root`; their cmdline carries their options. */
export function workerLaunchersBelow(root: number, needle?: string): ProcInfo[] {
  return descendants(root).filter((p) => p.cmdline.includes("edge-worker.ts") && (!needle || p.cmdline.includes(needle)));
}

export interface Mem {
  /** Peak resident set size (KiB → MB here), kernel-tracked since process start. */
  hwmMB: number;
  rssMB: number;
}

export function memOf(pid: number): Mem | null {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? NaN);
    return { hwmMB: kb("VmHWM") / 1024, rssMB: kb("VmRSS") / 1024 };
  } catch {
    return null;
  }
}

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux x86-64

/** user+system CPU seconds consumed by `pid` so far. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime, stime (fields 14, 15)
  } catch {
    return NaN;
  }
}

/** Samples VmRSS of `pid` every `everyMs` until stopped; returns the maximum seen and the kernel's VmHWM. */
export function sampleMemory(pid: number, everyMs = 200): { stop(): { maxRssMB: number; hwmMB: number; samples: number } } {
  let max = 0;
  let samples = 0;
  const tick = () => {
    const m = memOf(pid);
    if (m) {
      max = Math.max(max, m.rssMB);
      samples++;
    }
  };
  tick();
  const t = setInterval(tick, everyMs);
  return {
    stop() {
      clearInterval(t);
      tick();
      return { maxRssMB: max, hwmMB: memOf(pid)?.hwmMB ?? NaN, samples };
    },
  };
}

export function machine(): { cpu: string; cores: number; memGB: number; os: string; kernel: string } {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const cpu = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown";
  const cores = (cpuinfo.match(/^processor\s*:/gm) ?? []).length;
  const memKB = Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0);
  let os = "Linux";
  try {
    os = /^PRETTY_NAME="?([^"\n]+)"?/m.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? os;
  } catch {
    /* keep */
  }
  const kernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  return { cpu, cores, memGB: memKB / 1024 / 1024, os, kernel };
}

/** TCP ports `pid` listens on (IPv4 and IPv6), from its socket fds matched against /proc/<pid>/net/tcp{,6}. */
export function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        /* closed meanwhile */
      }
    }
  } catch {
    return [];
  }
  const ports = new Set<number>();
  for (const table of ["tcp", "tcp6"]) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is hex ip:port; st 0A = LISTEN; inode is field 9
      if (f[3] === "0A" && f[9] && inodes.has(f[9])) ports.add(parseInt(f[1]!.split(":")[1]!, 16));
    }
  }
  return [...ports];
}
