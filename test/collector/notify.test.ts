// Fleet alert notifications (collector/alerts/notify.ts): to a webhook server that fails before it
// takes them (retried with back-off, delivered once), and to a real Alertmanager (Debian's
// prometheus-alertmanager, started here) whose own API then shows the alert, and stops showing it
// once it is resolved.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { FleetAlert, Transition } from '../../collector/alerts/engine.js';
import { Notifier } from '../../collector/alerts/notify.js';
import { createCollectorLogger } from '../../collector/log.js';
import { skipWithout } from '../metrics/tools.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const FAST = { initialMs: 20, maxMs: 100 };

function fleetAlert(over: Partial<FleetAlert> = {}): FleetAlert {
  return {
    id: 'a1b2c3d4e5f60718',
    name: 'amount_drift',
    labels: { alertname: 'amount_drift', model: 'fraud', severity: 'critical' },
    severity: 'critical',
    source: 'rule',
    state: 'firing',
    summary: 'drift of amount on 3 of 10 devices running fraud (30%; the rule fires at 20% and 1 device)',
    devices: [
      { device: 'gw-1', site: 'plant-a', state: 'firing' },
      { device: 'gw-2', site: 'plant-a', state: 'firing' },
      { device: 'gw-7', site: 'plant-b', state: 'firing' },
    ],
    firing: 3,
    resolved: 0,
    active_since: NOW - 60_000,
    firing_since: NOW,
    resolved_at: null,
    updated_at: NOW,
    acknowledged: null,
    silenced_by: null,
    ...over,
  };
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

describe('webhook notifications', () => {
  it('retries a webhook that fails with back-off and delivers the Alertmanager webhook format once', async () => {
    const bodies: unknown[] = [];
    let calls = 0;
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        calls++;
        if (calls <= 2) {
          res.writeHead(500).end();
          return;
        }
        bodies.push(JSON.parse(body));
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
    const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/hook`;
    const lines: Record<string, unknown>[] = [];
    const log = createCollectorLogger({ write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
    const n = new Notifier({ webhooks: [{ url, timeout: 2_000 }], alertmanagers: [], external_url: 'https://fleet.example' }, log, { backoff: FAST });
    cleanup.push(() => n.close());
    const a = fleetAlert();
    // A silenced alert, and one resolved that never fired, are not sent.
    const quiet: Transition[] = [
      { alert: fleetAlert({ id: 'silenced', silenced_by: 's1' }), from: 'pending' },
      { alert: fleetAlert({ id: 'never-fired', state: 'resolved', resolved_at: NOW }), from: 'pending' },
    ];
    n.notify([{ alert: a, from: 'pending' }, ...quiet], [a], NOW);
    await until('the webhook delivery', () => bodies.length === 1);
    await sleep(150);
    expect(calls).toBe(3);
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toEqual({
      version: '4',
      groupKey: `edgewatch:${NOW}`,
      truncatedAlerts: 0,
      status: 'firing',
      receiver: 'edgewatch',
      groupLabels: {},
      commonLabels: { alertname: 'amount_drift', model: 'fraud', severity: 'critical', source: 'edgewatch' },
      commonAnnotations: {
        summary: a.summary,
        devices: 'gw-1 (plant-a), gw-2 (plant-a), gw-7 (plant-b)',
        firing: '3',
        resolved: '0',
      },
      externalURL: 'https://fleet.example',
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'amount_drift', model: 'fraud', severity: 'critical', source: 'edgewatch' },
          annotations: { summary: a.summary, devices: 'gw-1 (plant-a), gw-2 (plant-a), gw-7 (plant-b)', firing: '3', resolved: '0' },
          startsAt: new Date(NOW).toISOString(),
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: 'https://fleet.example/#/alerts',
          fingerprint: a.id,
        },
      ],
    });
    // The failure was logged once, and the recovery once.
    expect(lines.filter((l) => l['msg'] === 'alerts: a notification did not go through; retrying with back-off')).toHaveLength(1);
    expect(n.sent.webhook).toBe(1);
  });
});

describe.skipIf(skipWithout('prometheus-alertmanager'))('a real Alertmanager', () => {
  it('receives a firing fleet alert through /api/v2/alerts, and lets it go when it resolves', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-am-'));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.writeFileSync(path.join(dir, 'am.yml'), 'route:\n  receiver: nobody\nreceivers:\n  - name: nobody\n');
    const port = await freePort();
    const am: ChildProcess = spawn(
      'prometheus-alertmanager',
      [`--config.file=${path.join(dir, 'am.yml')}`, `--storage.path=${dir}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let amLog = '';
    am.stderr!.on('data', (d: Buffer) => (amLog = (amLog + d.toString()).slice(-4000)));
    cleanup.push(
      () =>
        new Promise<void>((r) => {
          if (am.exitCode !== null) return r();
          am.once('exit', () => r());
          am.kill('SIGTERM');
        }),
    );
    const base = `http://127.0.0.1:${port}`;
    await until('Alertmanager ready', async () => (await fetch(`${base}/-/ready`).catch(() => null))?.ok === true, 20_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${amLog}`);
    });

    const log = createCollectorLogger({ write: () => {} });
    const n = new Notifier({ webhooks: [], alertmanagers: [{ url: base, timeout: 2_000 }], external_url: null }, log, { backoff: FAST, intervalMs: 60_000 });
    cleanup.push(() => n.close());
    const a = fleetAlert({ firing_since: Date.now(), active_since: Date.now() });
    n.notify([{ alert: a, from: 'pending' }], [a], Date.now());
    type AmAlert = { labels: Record<string, string>; annotations: Record<string, string>; status: { state: string } };
    const alerts = async () => (await (await fetch(`${base}/api/v2/alerts`)).json()) as AmAlert[];
    await until('the alert at Alertmanager', async () => (await alerts()).some((x) => x.labels['alertname'] === 'amount_drift'));
    const got = (await alerts()).find((x) => x.labels['alertname'] === 'amount_drift')!;
    expect(got.labels).toEqual({ alertname: 'amount_drift', model: 'fraud', severity: 'critical', source: 'edgewatch' });
    expect(got.annotations['summary']).toBe(a.summary);
    expect(got.annotations['devices']).toBe('gw-1 (plant-a), gw-2 (plant-a), gw-7 (plant-b)');
    expect(got.status.state).toBe('active');

    const resolved = { ...a, state: 'resolved' as const, resolved_at: Date.now() };
    n.notify([{ alert: resolved, from: 'firing' }], [resolved], Date.now());
    await until('the alert resolved at Alertmanager', async () => !(await alerts()).some((x) => x.labels['alertname'] === 'amount_drift'));
    expect(n.sent.alertmanager).toBe(2);
  });
});
