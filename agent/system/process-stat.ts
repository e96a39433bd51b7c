// Reading one process out of /proc: its stat line (name, state, CPU ticks, threads, start time) and
// its resident memory. A process is known by (pid, start time): pids are reused, start times are not.
import { readFileSync } from 'node:fs';
import { SourceError } from './source.js';

/**
 * USER_HZ, the unit of utime/stime/starttime in /proc/<pid>/stat. Node cannot read AT_CLKTCK or
 * sysconf(_SC_CLK_TCK), and spawning `getconf` is not worth it: the kernel ABI fixes USER_HZ at 100
 * on every architecture Linux edge devices use (x86, arm, arm64, riscv; only alpha and ia64 differ).
 */
export const CLOCK_TICKS_PER_SECOND = 100;

/** What /proc/<pid>/stat says about one process (proc(5) field numbers in comments). */
export interface ProcStat {
  pid: number;
  /** (2) The kernel's name, cut at 15 bytes; may hold spaces and parentheses. */
  comm: string;
  /** (3) R, S, D, Z (zombie), X (dead), ... */
  state: string;
  /** (14) + (15) utime + stime, clock ticks. */
  cpuTicks: number;
  /** (20) */
  threads: number;
  /** (22) Clock ticks after boot when the process started. */
  startTicks: number;
}

/** Parses a stat line, or null when it is not one. */
export function parseStat(text: string): ProcStat | null {
  // comm is whatever the program set, ")" included, so the name ends at the last ")".
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = wholeNumber(text.slice(0, open).trim());
  const rest = text.slice(close + 1).trim().split(/\s+/);
  // rest[0] is field 3, so field n is rest[n - 3].
  const state = rest[0];
  const utime = wholeNumber(rest[11]);
  const stime = wholeNumber(rest[12]);
  const threads = wholeNumber(rest[17]);
  const startTicks = wholeNumber(rest[19]);
  if (pid === null || state === undefined || utime === null || stime === null || threads === null || startTicks === null) {
    return null;
  }
  return { pid, comm: text.slice(open + 1, close), state, cpuTicks: utime + stime, threads, startTicks };
}

/**
 * Resident set size in bytes from /proc/<pid>/status (VmRSS, kB), or null when the line is absent
 * (zombies, kernel threads). Chosen over statm because statm counts pages, and the page size is
 * 16 or 64 KiB on some arm64 kernels while Node cannot ask for it.
 */
export function parseVmRssBytes(status: string): number | null {
  const m = /^VmRSS:\s+(\d+)\s+kB\s*$/m.exec(status);
  return m?.[1] === undefined ? null : Number(m[1]) * 1024;
}

/** Seconds since boot, the first number of /proc/uptime. */
export function parseUptimeSeconds(text: string): number | null {
  const first = text.trim().split(/\s+/)[0];
  if (first === undefined || !/^\d+(\.\d+)?$/.test(first)) return null;
  return Number(first);
}

function wholeNumber(text: string | undefined): number | null {
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : null;
}

/** Errno codes meaning "that process is not there (any more)". */
export function isGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ESRCH' || code === 'ENOTDIR';
}

/** A small file's text, or null when it (or its process) is gone; other failures throw as they are. */
export function readIfThere(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if (isGone(err)) return null;
    throw err;
  }
}

/**
 * The live process at `pid`, or null when there is none: no such pid, an unparsable stat (which
 * a real kernel does not write), or a zombie, which has exited and only waits to be reaped.
 */
export function readProcess(procRoot: string, pid: number): ProcStat | null {
  const text = readIfThere(`${procRoot}/${pid}/stat`);
  if (text === null) return null;
  const stat = parseStat(text);
  if (stat === null || stat.state === 'Z' || stat.state === 'X' || stat.state === 'x') return null;
  return stat;
}

export function readUptimeSeconds(procRoot: string): number {
  const path = `${procRoot}/uptime`;
  const text = readIfThere(path);
  if (text === null) throw new SourceError('missing', `${path}: not there`);
  const seconds = parseUptimeSeconds(text);
  if (seconds === null) throw new SourceError('parse', `${path}: expected seconds, got ${JSON.stringify(text.slice(0, 40))}`);
  return seconds;
}
