// A real Prometheus scrapes the endpoint once: the target must be up and the samples queryable.
// Prometheus is the Debian package's binary, with its data in a temp dir and a 1 s scrape interval.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../agent/log.js';
import { startMetricsServer, type MetricsServer } from '../../agent/metrics/index.js';
import { NOW, realisticSnapshot } from './snapshot-fixture.js';
import { skipWithout } from './tools.js';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface Series {
  metric: Record<string, string>;
  value: [number, string];
}

interface QueryAnswer {
  status: string;
  data?: { result: Series[] };
}

async function query(port: number, promql: string): Promise<Series[]> {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await res.json()) as QueryAnswer;
  return body.status === 'success' && body.data ? body.data.result : [];
}

const cleanup: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f();
});

describe.skipIf(skipWithout('prometheus'))('a real Prometheus', () => {
  it('scrapes /metrics: up == 1 and edgewatch samples queryable', async () => {
    const started = Date.now();
    const server: MetricsServer = await startMetricsServer('127.0.0.1:0', () => realisticSnapshot({ models: 3, features: 50 }), silentLogger, { now: () => NOW });
    cleanup.push(() => server.close());

    const dir = mkdtempSync(join(os.tmpdir(), 'ew-prometheus-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const config = join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'scrape_configs:',
        '  - job_name: edgewatch',
        '    scrape_interval: 1s',
        '    scrape_timeout: 1s',
        '    static_configs:',
        `      - targets: ['${server.address}']`,
        '',
      ].join('\n'),
    );
    const webPort = await freePort();
    let log = '';
    const prometheus: ChildProcess = spawn(
      'prometheus',
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${webPort}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    prometheus.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((r) => prometheus.on('exit', (code) => r(code)));
    cleanup.push(async () => {
      if (prometheus.exitCode === null) {
        prometheus.kill('SIGTERM');
        const timer = setTimeout(() => prometheus.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
    });

    let up: string | undefined;
    let accepted: Series[] = [];
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && prometheus.exitCode === null) {
      try {
        up = (await query(webPort, 'up{job="edgewatch"}'))[0]?.value[1];
        if (up === '1') {
          accepted = await query(webPort, 'edgewatch_records_accepted_total');
          if (accepted.length > 0) break;
        }
      } catch {
        // not listening yet
      }
      await sleep(250);
    }
    const why = `prometheus exit ${prometheus.exitCode}, log:\n${log.slice(-2000)}`;
    expect(up, why).toBe('1');
    expect(accepted.map((r) => [r.metric['model'], r.value[1]]).sort(), why).toEqual([
      ['model-0', '1234567'],
      ['model-1', '1234567'],
      ['model-2', '1234567'],
    ]);
    // Escaped label values come back as written; converted units as rendered.
    const info = await query(webPort, 'edgewatch_agent_info');
    expect(info[0]?.metric['site']).toBe('plant "north"\\line\n2');
    const clock = await query(webPort, 'edgewatch_system_gpu_clock_hertz{clock="sm"}');
    expect(clock[0]?.value[1]).toBe('1410000000');
    // Prometheus counts what it dropped in its own series; nothing may be.
    const samples = await query(webPort, 'scrape_samples_scraped{job="edgewatch"}');
    expect(Number(samples[0]?.value[1])).toBeGreaterThan(2000);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
