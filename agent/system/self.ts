// The agent's own health as a system source: its CPU, memory and heap, how fast it ingests, how
// long its commits take, how big its database is, and its runtime faults by stage and code.
import fs from 'node:fs';
import type { Readings, SystemSource } from './source.js';

/** What the agent tells its own-health source; counters are totals since start. */
export interface AgentHealth {
  /** Records and rejected lines read since start. */
  lines: number;
  /** Commit durations since the previous round, ms. */
  takeCommitMs(): number[];
  /** The SQLite file and its WAL. */
  dbFiles: readonly string[];
  /** Runtime faults since start: "<stage>.<code>" (e.g. "tail.EW_ERR_READ") -> count. */
  errors: ReadonlyMap<string, number>;
  /** Messages waiting for the collector, and their bytes. */
  outbox(): { messages: number; bytes: number };
}

export class SelfSource implements SystemSource {
  readonly name = 'agent';
  private prevAt = 0;
  private prevCpu: NodeJS.CpuUsage | null = null;
  private prevLines = 0;

  constructor(private readonly health: () => AgentHealth) {}

  async sample(now: number): Promise<Readings> {
    const h = this.health();
    const out: Readings = new Map();
    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    if (this.prevCpu !== null && now > this.prevAt) {
      const used = (cpu.user - this.prevCpu.user + cpu.system - this.prevCpu.system) / 1000;
      out.set('agent.cpu', (100 * used) / (now - this.prevAt));
      out.set('agent.lines_per_s', ((h.lines - this.prevLines) * 1000) / (now - this.prevAt));
    }
    this.prevAt = now;
    this.prevCpu = cpu;
    this.prevLines = h.lines;
    out.set('agent.rss', mem.rss);
    out.set('agent.heap_used', mem.heapUsed);
    const commits = h.takeCommitMs();
    if (commits.length > 0) {
      out.set('agent.commit_ms', Math.max(...commits));
      out.set('agent.commits', commits.length);
    }
    let bytes = 0;
    for (const f of h.dbFiles) {
      try {
        bytes += (await fs.promises.stat(f)).size;
      } catch {
        // The WAL is absent between checkpoints.
      }
    }
    out.set('agent.db_size', bytes);
    const outbox = h.outbox();
    out.set('agent.outbox_messages', outbox.messages);
    out.set('agent.outbox_bytes', outbox.bytes);
    for (const [key, n] of h.errors) out.set(`agent.errors.${key.replace(/[^A-Za-z0-9_.-]+/g, '_')}`, n);
    return out;
  }
}
