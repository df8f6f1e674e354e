/**
 * CPU accounting for the side-by-side bench: samples every 100 ms the CPU time (user + system,
 * from /proc/<pid>/stat) of every process under this one (the implementation, the broker JVM,
 * the paced producer) and of this process (the outside consumer), the threads of the
 * implementation's process (/proc/<pid>/task/<tid>/stat) and the whole machine (/proc/stat),
 * so a window (first output → last output of a backlog) can say who used the cores. Linux only;
 * elsewhere it samples nothing and every window is empty.
 *
 *   const cpu = new CpuSampler(); cpu.start(); ...; cpu.window(from, to, childPid)
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's utime/stime (USER_HZ; 100 on every Linux build in use). */
const TICKS = 100;

interface Sample {
  readonly at: number;
  /** pid → what its /proc/<pid>/stat says. */
  readonly processes: Map<number, Stat>;
  /** tid → ticks, for the threads of the watched process. */
  readonly threads: Map<number, number>;
  /** The machine's busy and total ticks over all cores since boot. */
  readonly machine: { readonly busy: number; readonly total: number };
}

/** Who used how much CPU over a window, in CPU-seconds. */
export interface CpuWindow {
  readonly seconds: number;
  /** By role: 'job', 'broker', 'outside consumer', 'producer', 'other (under the bench)'. */
  readonly byRole: ReadonlyMap<string, number>;
  /** The job process's threads, busiest first: tid (the main thread's tid is the pid) and CPU-seconds. */
  readonly jobThreads: readonly { readonly tid: number; readonly main: boolean; readonly seconds: number }[];
  /** The job process's CPU-seconds in the kernel (a part of its 'job' figure). */
  readonly jobSystemSeconds: number;
  /** The job process's minor page faults: first touches of memory it was given anew. */
  readonly jobMinorFaults: number;
  /** Cores busy on average over the window, every process of the machine (other work too). */
  readonly machineCoresBusy: number;
  readonly cores: number;
}

/**
 * Samples the CPU of this process tree; `watch(pid)` adds a process whose threads are counted.
 *
 * @example
 * const cpu = new CpuSampler(); cpu.start(); cpu.watch(child.pid!); ... console.log(formatCpu(cpu.window(a, b), 40_000));
 */
export class CpuSampler {
  readonly #samples: Sample[] = [];
  #timer: NodeJS.Timeout | undefined;
  #watched: number | undefined;
  #roles = new Map<number, string>();

  start(): void {
    this.#take();
    this.#timer = setInterval(() => this.#take(), 100);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** The implementation's process: its threads are sampled, its role is 'job'. */
  watch(pid: number): void {
    this.#watched = pid;
    this.#roles.set(pid, 'job');
    this.#take();
  }

  /** Names a process's role (e.g. the paced producer). */
  role(pid: number, role: string): void {
    this.#roles.set(pid, role);
  }

  /** CPU used between `from` and `to` (epoch ms), from the samples nearest outside them. */
  window(from: number, to: number): CpuWindow {
    this.#take();
    const before = [...this.#samples].reverse().find((s) => s.at <= from) ?? this.#samples[0];
    const after = this.#samples.find((s) => s.at >= to) ?? this.#samples.at(-1);
    const empty: CpuWindow = { seconds: 0, byRole: new Map(), jobThreads: [], jobSystemSeconds: 0, jobMinorFaults: 0, machineCoresBusy: NaN, cores: 0 };
    if (before === undefined || after === undefined || after.at <= before.at) return empty;
    const seconds = (after.at - before.at) / 1000;
    const byRole = new Map<string, number>();
    for (const [pid, now] of after.processes) {
      const then = before.processes.get(pid)?.ticks ?? 0;
      const role = this.#roleOf(pid, now.name, now.parent, after);
      byRole.set(role, (byRole.get(role) ?? 0) + (now.ticks - then) / TICKS);
    }
    const jobThreads = [...after.threads]
      .map(([tid, ticks]) => ({ tid, main: tid === this.#watched, seconds: (ticks - (before.threads.get(tid) ?? 0)) / TICKS }))
      .filter((t) => t.seconds > 0)
      .sort((a, b) => b.seconds - a.seconds);
    const cores = cpuCount();
    const total = after.machine.total - before.machine.total;
    const machineCoresBusy = total === 0 ? NaN : ((after.machine.busy - before.machine.busy) / total) * cores;
    const jobNow = this.#watched === undefined ? undefined : after.processes.get(this.#watched);
    const jobThen = this.#watched === undefined ? undefined : before.processes.get(this.#watched);
    const jobSystemSeconds = ((jobNow?.systemTicks ?? 0) - (jobThen?.systemTicks ?? 0)) / TICKS;
    const jobMinorFaults = (jobNow?.minorFaults ?? 0) - (jobThen?.minorFaults ?? 0);
    return { seconds, byRole, jobThreads, jobSystemSeconds, jobMinorFaults, machineCoresBusy, cores };
  }

  #roleOf(pid: number, name: string, parent: number, sample: Sample): string {
    const known = this.#roles.get(pid);
    if (known !== undefined) return known;
    if (pid === process.pid) return 'outside consumer';
    if (name === 'java') return 'broker';
    // A child of the job (none expected) counts as the job.
    for (let up = parent; up > 1; up = sample.processes.get(up)?.parent ?? 0) if (up === this.#watched) return 'job';
    return 'other (under the bench)';
  }

  #take(): void {
    try {
      const all = new Map<number, Stat>();
      for (const entry of readdirSync('/proc')) {
        if (!/^\d+$/.test(entry)) continue;
        const stat = readStat(`/proc/${entry}/stat`);
        if (stat !== undefined) all.set(Number(entry), stat);
      }
      // This process and everything under it.
      const processes = new Map<number, Stat>();
      for (const [pid, stat] of all) {
        for (let up = pid; up > 1; up = all.get(up)?.parent ?? 0) {
          if (up === process.pid) {
            processes.set(pid, stat);
            break;
          }
        }
      }
      const threads = new Map<number, number>();
      if (this.#watched !== undefined) {
        try {
          for (const tid of readdirSync(`/proc/${this.#watched}/task`)) {
            const stat = readStat(`/proc/${this.#watched}/task/${tid}/stat`);
            if (stat !== undefined) threads.set(Number(tid), stat.ticks);
          }
        } catch {
          // The process has exited.
        }
      }
      const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
      // user nice system idle iowait irq softirq steal: idle + iowait are not busy.
      const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
      const busy = total - cpu[3]! - cpu[4]!;
      this.#samples.push({ at: Date.now(), processes, threads, machine: { busy, total } });
    } catch {
      // Not Linux: no samples.
    }
  }
}

interface Stat {
  readonly name: string;
  readonly ticks: number;
  readonly parent: number;
  readonly systemTicks: number;
  readonly minorFaults: number;
}

function readStat(path: string): Stat | undefined {
  try {
    const text = readFileSync(path, 'utf8');
    const close = text.lastIndexOf(')');
    const name = text.slice(text.indexOf('(') + 1, close);
    const fields = text.slice(close + 2).split(' ');
    // After "(comm) ": state ppid ... minflt is field 10 of the line, index 7 here; utime 14, index
    // 11; stime 12.
    return { name, parent: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]), systemTicks: Number(fields[12]), minorFaults: Number(fields[7]) };
  } catch {
    return undefined;
  }
}

function cpuCount(): number {
  try {
    return readFileSync('/proc/stat', 'utf8').split('\n').filter((line) => /^cpu\d/.test(line)).length;
  } catch {
    return 0;
  }
}

/**
 * The window as lines: CPU-seconds per 1,000 events and cores busy, per role and per job thread.
 *
 * @example
 * formatCpu(cpu.window(first, last), 40_000)
 * formatCpu(cpu.window(from, to), 2_500, '500/s: cpu') // '    500/s: cpu over 5.0 s: …'
 */
export function formatCpu(window: CpuWindow, events: number, label = 'cpu'): string {
  if (window.seconds === 0) return `    ${label}: not sampled`;
  const per = (seconds: number) => `${((seconds / events) * 1000).toFixed(3)} cpu-s/1k ev (${(seconds / window.seconds).toFixed(2)} cores)`;
  const roles = [...window.byRole].filter(([, s]) => s > 0).sort((a, b) => b[1] - a[1]).map(([role, s]) => `${role} ${per(s)}`);
  const shown = window.jobThreads.slice(0, 8);
  const rest = window.jobThreads.slice(8).reduce((sum, t) => sum + t.seconds, 0);
  const threads = shown.map((t) => `${t.main ? 'main' : `t${t.tid}`} ${(t.seconds / window.seconds).toFixed(2)}`).concat(rest > 0 ? [`${window.jobThreads.length - 8} more ${(rest / window.seconds).toFixed(2)}`] : []);
  const under = [...window.byRole.values()].reduce((a, b) => a + b, 0);
  return [
    `    ${label} over ${window.seconds.toFixed(1)} s: machine ${window.machineCoresBusy.toFixed(2)} of ${window.cores} cores busy, this bench's processes ${(under / window.seconds).toFixed(2)}`,
    `      ${roles.join('; ')}`,
    `      job threads (cores): ${threads.join(', ')}`,
    `      job in the kernel ${((window.jobSystemSeconds / Math.max(1e-9, window.byRole.get('job') ?? 0)) * 100).toFixed(0)} % of its cpu; ${Math.round((window.jobMinorFaults / events) * 1000).toLocaleString('en-US')} minor page faults per 1k ev`,
  ].join('\n');
}
