// The agent's main loop: read while there is something to read, sleep a poll interval when there
// is not, commit in batches, and on SIGTERM/SIGINT commit and leave.
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { startMetricsServer, type MetricsServer } from '../metrics/index.js';
import type { Agent } from './agent.js';

export interface RunOptions {
  /** Resolves the loop: wired to SIGTERM/SIGINT by the command line, to a test's own trigger elsewhere. */
  signal: AbortSignal;
}

export async function runUntilStopped(agent: Agent, opts: RunOptions): Promise<void> {
  const poll = agent.config.ingest.poll_interval_ms;
  const listen = agent.config.metrics.listen;
  let metrics: MetricsServer | null = null;
  try {
    // A port that cannot be bound fails the start, before any line is read.
    if (listen !== null) metrics = await startMetricsServer(listen, () => agent.metricsSnapshot(), agent.logger);
    agent.startSystemSampling();
    await agent.startSync();
    while (!opts.signal.aborted) {
      const bytes = agent.step();
      agent.commitIfDue();
      if (bytes === 0) await sleep(poll, opts.signal);
      else await yieldToLoop();
    }
  } finally {
    await agent.stopSystemSampling();
    // The last commit (in shutdown) may add summaries; they wait in the outbox for the next start.
    await agent.stopSync();
    await metrics?.close();
    agent.shutdown();
  }
}

/**
 * Ingests everything the logs hold now, closes every window, commits; then, unless sync is
 * manual, one sync session (connect, send the outbox, disconnect; at most sync.max_duration).
 * For a device that runs the agent from cron rather than as a service.
 */
export async function runOnce(agent: Agent): Promise<{ sent: number; left: number } | null> {
  agent.ingestAvailable();
  agent.closeAllWindows();
  agent.commit();
  try {
    return await agent.syncOnce();
  } finally {
    agent.shutdown({ closeWindows: true });
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
