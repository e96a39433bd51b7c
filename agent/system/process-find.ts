// Finding the process a watch means: by the kernel's name for it, by a pid file the server writes,
// or by the systemd unit it runs under. Each finder answers a live process or null ("down"); only a
// file that is there but cannot be read or understood is a SourceError.
import { readdirSync } from 'node:fs';
import { readIfThere, readProcess, type ProcStat } from './process-stat.js';
import { SourceError } from './source.js';
import { causeOf } from './proc-read.js';

/** comm is cut at TASK_COMM_LEN - 1 bytes. */
export const COMM_MAX_BYTES = 15;

/**
 * Whether a process with kernel name `comm` is the program `name`. A longer name has been cut to
 * 15 bytes in comm, so the basename of argv[0] decides (read only then: it costs a file read).
 */
export function isNamed(name: string, comm: string, cmdline: () => string | null): boolean {
  if (comm === name) return true;
  if (Buffer.byteLength(name) <= COMM_MAX_BYTES || Buffer.byteLength(comm) !== COMM_MAX_BYTES) return false;
  if (!name.startsWith(comm)) return false;
  const argv0 = cmdline()?.split('\0')[0];
  if (argv0 === undefined) return false;
  return argv0.slice(argv0.lastIndexOf('/') + 1) === name;
}

/** The oldest of several processes: the first started, which for a server and its workers is the parent. */
export function oldest(stats: readonly ProcStat[]): ProcStat | null {
  let best: ProcStat | null = null;
  for (const s of stats) {
    if (best === null || s.startTicks < best.startTicks || (s.startTicks === best.startTicks && s.pid < best.pid)) best = s;
  }
  return best;
}

/**
 * One pass over /proc for every name asked: name -> its oldest live process (absent when none).
 * Processes that exit during the pass are skipped.
 */
export function scanByName(procRoot: string, names: ReadonlySet<string>): Map<string, ProcStat> {
  let entries: string[];
  try {
    entries = readdirSync(procRoot);
  } catch (err) {
    throw new SourceError(causeOf(err), `${procRoot}: cannot list processes (${codeOf(err)})`);
  }
  const found = new Map<string, ProcStat[]>();
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const comm = readQuietly(`${procRoot}/${entry}/comm`)?.replace(/\n$/, '');
    if (comm === undefined) continue;
    for (const name of names) {
      if (!isNamed(name, comm, () => readQuietly(`${procRoot}/${entry}/cmdline`) ?? null)) continue;
      const stat = readQuietlyProcess(procRoot, Number(entry));
      if (stat === null) continue;
      const list = found.get(name) ?? [];
      list.push(stat);
      found.set(name, list);
    }
  }
  const result = new Map<string, ProcStat>();
  for (const [name, list] of found) {
    const best = oldest(list);
    if (best !== null) result.set(name, best);
  }
  return result;
}

/**
 * The process a pid file names. A missing or empty file means down (servers delete it on exit and
 * may be writing it right now); a file that is not a pid is a 'parse' error naming it.
 */
export function findByPidFile(procRoot: string, pidFile: string): ProcStat | null {
  const text = readOrThrow(pidFile);
  if (text === null || text.trim() === '') return null;
  const first = text.trim().split(/\s+/)[0] ?? '';
  if (!/^\d+$/.test(first) || Number(first) === 0) {
    throw new SourceError('parse', `${pidFile}: expected a pid, got ${JSON.stringify(text.slice(0, 40))}`);
  }
  return readProcess(procRoot, Number(first));
}

/** "triton" -> "triton.service"; a name with a unit suffix is kept. */
export function unitFileName(unit: string): string {
  return unit.includes('.') ? unit : `${unit}.service`;
}

/**
 * Where systemd keeps a system service's processes: the unified (v2) hierarchy, then the hybrid
 * layout's unified mount, then the v1 name=systemd hierarchy (older Jetson L4T images).
 */
export function unitProcsPaths(sysRoot: string, unit: string): string[] {
  const rel = `system.slice/${unitFileName(unit)}/cgroup.procs`;
  return [`${sysRoot}/fs/cgroup/${rel}`, `${sysRoot}/fs/cgroup/unified/${rel}`, `${sysRoot}/fs/cgroup/systemd/${rel}`];
}

/**
 * The main process of a systemd unit: the oldest live pid in its cgroup (systemd starts the main
 * process first; helpers it forks come later). No cgroup directory means the unit is not running.
 * `systemctl show -p MainPID` would be exact but costs a child process a round and cannot be faked
 * under a test root. A unit that delegates to sub-cgroups (Delegate=yes) keeps no pids at its top
 * and reads as down.
 */
export function findBySystemdUnit(procRoot: string, sysRoot: string, unit: string): ProcStat | null {
  for (const path of unitProcsPaths(sysRoot, unit)) {
    const text = readOrThrow(path);
    if (text === null) continue;
    const stats: ProcStat[] = [];
    for (const line of text.split('\n')) {
      if (!/^\d+$/.test(line.trim())) continue;
      const stat = readProcess(procRoot, Number(line.trim()));
      if (stat !== null) stats.push(stat);
    }
    return oldest(stats);
  }
  return null;
}

function readOrThrow(path: string): string | null {
  try {
    return readIfThere(path);
  } catch (err) {
    throw new SourceError(causeOf(err), `${path}: ${codeOf(err)}`);
  }
}

/** During a scan, a process that cannot be read (gone, or hidden by hidepid) is simply not a match. */
function readQuietly(path: string): string | undefined {
  try {
    return readIfThere(path) ?? undefined;
  } catch {
    return undefined;
  }
}

function readQuietlyProcess(procRoot: string, pid: number): ProcStat | null {
  try {
    return readProcess(procRoot, pid);
  } catch {
    return null;
  }
}

function codeOf(err: unknown): string {
  return (err as NodeJS.ErrnoException | null)?.code ?? String(err);
}
