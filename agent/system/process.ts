// Watched processes (the inference server and whatever else the config names): up or down, CPU,
// memory, threads, uptime, and how often it restarted while the agent watched. A process that is
// down is a reading (`up` 0), never an error; a round is one stat read per watch unless a watched
// process is gone, when one pass over /proc looks for it again.
import { guardRound, metricPart } from './proc-read.js';
import { findByPidFile, findBySystemdUnit, scanByName } from './process-find.js';
import {
  CLOCK_TICKS_PER_SECOND,
  parseVmRssBytes,
  readIfThere,
  readProcess,
  readUptimeSeconds,
  type ProcStat,
} from './process-stat.js';
import type { Readings, SourceEnv, SystemSource } from './source.js';

/** How the config says which process a watch means. */
export type ProcessMatch =
  /** The kernel's name (comm), or argv[0]'s basename when the name is longer than 15 bytes. The oldest match wins. */
  | { process_name: string }
  /** A file holding the pid, re-read every round. */
  | { pid_file: string }
  /** A systemd system service ("triton" means "triton.service"), found by its cgroup. */
  | { systemd_unit: string };

export interface ProcessWatch {
  /** The metric name part: `process.<name>.up`. */
  name: string;
  match: ProcessMatch;
}

/** The last process a watch saw, kept across rounds (and across down rounds, to spot a restart). */
interface Seen {
  pid: number;
  startTicks: number;
  comm: string;
  cpuTicks: number;
  /** /proc/uptime when read, s. */
  atUptime: number;
}

interface WatchState {
  readonly watch: ProcessWatch;
  readonly prefix: string;
  seen: Seen | null;
  restarts: number;
}

export class ProcessSource implements SystemSource {
  readonly name = 'process';
  private readonly watches: WatchState[];

  constructor(
    private readonly env: Pick<SourceEnv, 'procRoot' | 'sysRoot'>,
    watches: readonly ProcessWatch[],
  ) {
    const prefixes = new Set<string>();
    this.watches = watches.map((watch) => {
      const prefix = `process.${metricPart(watch.name)}`;
      if (prefixes.has(prefix)) throw new Error(`process watch "${watch.name}": another watch has the same metric name ${prefix}`);
      prefixes.add(prefix);
      if ('systemd_unit' in watch.match && /[/\s]|^\.\.?$/.test(watch.match.systemd_unit)) {
        throw new Error(`process watch "${watch.name}": systemd_unit ${JSON.stringify(watch.match.systemd_unit)} is not a unit name`);
      }
      return { watch, prefix, seen: null, restarts: 0 };
    });
  }

  sample(_now: number): Promise<Readings> {
    // Elapsed time for CPU comes from /proc/uptime, not `now`: boards without a clock battery step
    // their wall clock by years when NTP first answers, and the kernel's boot clock does not step.
    return guardRound(this.name, () => this.round());
  }

  private round(): Readings {
    const { procRoot } = this.env;
    const uptime = readUptimeSeconds(procRoot);
    const found = new Map<WatchState, ProcStat | null>();
    const toScan = new Set<string>();
    for (const w of this.watches) {
      const stat = this.locate(w);
      if (stat === undefined) toScan.add((w.watch.match as { process_name: string }).process_name);
      else found.set(w, stat);
    }
    const scanned = toScan.size > 0 ? scanByName(procRoot, toScan) : new Map<string, ProcStat>();

    const readings: Readings = new Map();
    for (const w of this.watches) {
      const stat = found.has(w)
        ? (found.get(w) ?? null)
        : (scanned.get((w.watch.match as { process_name: string }).process_name) ?? null);
      this.report(w, stat, uptime, readings);
    }
    return readings;
  }

  /** The watch's process now, null when down, or undefined when a /proc scan by name must tell. */
  private locate(w: WatchState): ProcStat | null | undefined {
    const { procRoot, sysRoot } = this.env;
    const m = w.watch.match;
    if ('pid_file' in m) return findByPidFile(procRoot, m.pid_file);
    if ('systemd_unit' in m) return findBySystemdUnit(procRoot, sysRoot, m.systemd_unit);
    // By name: the process seen last round, if it still runs, is the answer without a scan. The
    // same pid with another start time is another program that got the recycled pid.
    const seen = w.seen;
    if (seen === null) return undefined;
    const now = readProcess(procRoot, seen.pid);
    return now !== null && now.startTicks === seen.startTicks && now.comm === seen.comm ? now : undefined;
  }

  private report(w: WatchState, stat: ProcStat | null, uptime: number, out: Readings): void {
    if (stat === null) {
      // Keep `seen`: if the server comes back under a new pid, that was a restart.
      out.set(`${w.prefix}.up`, 0);
      out.set(`${w.prefix}.restarts`, w.restarts);
      return;
    }
    const seen = w.seen;
    const same = seen !== null && seen.pid === stat.pid && seen.startTicks === stat.startTicks;
    if (seen !== null && !same) w.restarts++;

    out.set(`${w.prefix}.up`, 1);
    out.set(`${w.prefix}.restarts`, w.restarts);
    out.set(`${w.prefix}.threads`, stat.threads);
    out.set(`${w.prefix}.uptime`, Math.max(0, uptime - stat.startTicks / CLOCK_TICKS_PER_SECOND));
    // A new process's counters start from zero: no delta across a restart.
    if (same) {
      const cpuSeconds = (stat.cpuTicks - seen.cpuTicks) / CLOCK_TICKS_PER_SECOND;
      const elapsed = uptime - seen.atUptime;
      if (elapsed > 0 && cpuSeconds >= 0) out.set(`${w.prefix}.cpu`, (cpuSeconds / elapsed) * 100);
    }
    const status = readStatusQuietly(this.env.procRoot, stat.pid);
    const rss = status === null ? null : parseVmRssBytes(status);
    if (rss !== null) out.set(`${w.prefix}.rss`, rss);

    w.seen = { pid: stat.pid, startTicks: stat.startTicks, comm: stat.comm, cpuTicks: stat.cpuTicks, atUptime: uptime };
  }
}

/** The process may exit between reading its stat and its status; then it has no RSS this round. */
function readStatusQuietly(procRoot: string, pid: number): string | null {
  try {
    return readIfThere(`${procRoot}/${pid}/status`);
  } catch {
    return null;
  }
}
