// Fleet-scale benchmark (issue 6): a collector store holding 10,000 simulated devices with 7 days of
// 1-minute windows, rolled up as the fleet worker keeps them (collector/fleet): window buckets for
// the last day, hour buckets for 7 days, day buckets, for the whole fleet and per site. The
// buckets are real merges of real 20-feature window profiles (made by the agent's own code from
// generated logs): a fleet window is the merge of 10,000 device windows, a site's of its devices',
// an hour the merge of 60 windows, a day of 24 hours; the same merged profile stands for every
// bucket of its kind, so what is measured (reading and merging buckets) sees realistic sizes.
// Measured: the time to merge a model's fleet profile for one hour and for one day, in process;
// then the real collector (dist/edgewatch-collector.js) started on that store, the latency p50/p99
// of the requests the fleet page makes, and the collector's RSS. Prints one JSON object.
//
//   node --import tsx scripts/bench/fleet.ts [--devices 10000] [--days 7] [--sites 50]
//       [--requests 40] [--tmp DIR] [--keep]
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadAgentConfig } from '../../agent/config/index.js';
import { binEdgesFor } from '../../agent/drift/index.js';
import { WindowProfile } from '../../agent/profile/index.js';
import { createLineParser, FeatureTypes } from '../../agent/records/index.js';
import { profileFile } from '../../agent/runtime/profile-file.js';
import { AlertEngine } from '../../collector/alerts/engine.js';
import { defaultCollectorConfig } from '../../collector/config/index.js';
import { DAY_MS, FLEET, HOUR_MS, siteScope } from '../../collector/fleet/index.js';
import { silentCollectorLogger } from '../../collector/log.js';
import { CollectorStore } from '../../collector/store/index.js';
import { generateLines, writeLogFile } from '../gen-logs.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MARKS = { page_p99_ms_max: 200, day_merge_ms_max: 1000 };
const MIN = 60_000;
const { values: args } = parseArgs({
  options: {
    devices: { type: 'string', default: '10000' },
    days: { type: 'string', default: '7' },
    sites: { type: 'string', default: '50' },
    requests: { type: 'string', default: '40' },
    templates: { type: 'string', default: '6' },
    tmp: { type: 'string', default: os.tmpdir() },
    keep: { type: 'boolean', default: false },
  },
});
const DEVICES = Number(args.devices);
const DAYS = Number(args.days);
const SITES = Number(args.sites);
const REQUESTS = Number(args.requests);
const TEMPLATES = Number(args.templates);

const ms = (t0: number) => +(performance.now() - t0).toFixed(1);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
};

/** Device window profiles made as the agent makes them: 1 minute of 100 records/s, 20 features. */
async function deviceTemplates(dir: string, start: number): Promise<{ profiles: WindowProfile[]; baseline: WindowProfile }> {
  const cfgFile = path.join(dir, 'agent.yaml');
  fs.writeFileSync(
    cfgFile,
    ['device: {id: bench, site: bench}', `data_dir: ${JSON.stringify(path.join(dir, 'agent-data'))}`, 'models:', '  - name: fraud', '    task: classification',
      `    logs: [${JSON.stringify(path.join(dir, 'unused.jsonl'))}]`, '    format: jsonl', '    window: 60s', '    segments: ["features.region"]', ''].join('\n'),
  );
  const model = loadAgentConfig(cfgFile).models[0]!;
  const types = new FeatureTypes(model.features, model.infer_features);
  const gen = { numericFeatures: 16, categoricalFeatures: 3, rate: 100, arrivals: 'even' } as const;
  const baseFile = path.join(dir, 'baseline.jsonl');
  writeLogFile(baseFile, { ...gen, seed: 1000, records: 30_000, start: new Date(start - DAY_MS).toISOString() });
  const first = profileFile(baseFile, model, types, 'v1');
  const baseline = profileFile(baseFile, model, types, 'v1', undefined, binEdgesFor(first.profile)).profile;
  const edges = binEdgesFor(baseline);
  const parser = createLineParser(model, types);
  const profiles: WindowProfile[] = [];
  for (let t = 0; t < TEMPLATES; t++) {
    const meta = { model: 'fraud', modelVersion: 'v1', start, end: start + MIN };
    const p = new WindowProfile(meta, { task: 'classification', categoricalCap: model.categorical_cap, segmentCap: model.segment_cap, segmentPaths: model.segments, ...edges });
    for (const line of generateLines({ ...gen, seed: 1 + t, records: 6000, start: new Date(start).toISOString(), driftFrom: t % 3 === 2 ? 0 : null })) {
      if (line.kind !== 'good') continue;
      const r = parser.parse(line.text, start);
      if (r.ok && r.record !== null) p.add(r.record);
    }
    profiles.push(p);
  }
  return { profiles, baseline };
}

function mergeAll(ps: WindowProfile[]): WindowProfile {
  const acc = ps[0]!.clone();
  for (const p of ps.slice(1)) acc.merge(p);
  return acc;
}

function procRssMb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? +(Number(m[1]) / 1024).toFixed(1) : null;
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(args.tmp, 'ew-bench-fleet-'));
  const now = Date.now() - (Date.now() % MIN);
  const dayStart = now - (now % DAY_MS);
  const result: Record<string, unknown> = { bench: 'fleet', node: process.version, cpus: os.cpus().length, devices: DEVICES, days: DAYS, sites: SITES };

  // ---- the rollups, made by real merges ----
  let t0 = performance.now();
  const { profiles, baseline } = await deviceTemplates(dir, now - MIN);
  const templatesMs = ms(t0);
  t0 = performance.now();
  const deviceWindows = Array.from({ length: DEVICES }, (_, i) => profiles[i % profiles.length]!);
  const fleetWindow = mergeAll(deviceWindows);
  const fleetWindowMs = ms(t0);
  const siteWindow = mergeAll(deviceWindows.slice(0, Math.ceil(DEVICES / SITES)));
  t0 = performance.now();
  const fleetHour = mergeAll(Array.from({ length: 60 }, () => fleetWindow));
  const hourFrom60Ms = ms(t0);
  const siteHour = mergeAll(Array.from({ length: 60 }, () => siteWindow));
  const fleetDay = mergeAll(Array.from({ length: 24 }, () => fleetHour));
  const siteDay = mergeAll(Array.from({ length: 24 }, () => siteHour));
  const blobs = { fw: fleetWindow.encode(), fh: fleetHour.encode(), sh: siteHour.encode(), fd: fleetDay.encode(), sd: siteDay.encode() };

  const dataDir = path.join(dir, 'collector-data');
  const store = CollectorStore.open(dataDir);
  const db = store.db;
  t0 = performance.now();
  const put = db.prepare(`
    INSERT INTO fleet_buckets (model, model_version, resolution, scope, start_ms, profile, windows, records, drift_share, drifted, updated_at)
    VALUES ('fraud', 'v1', ?, ?, ?, ?, ?, ?, NULL, NULL, ?)`);
  const firstDay = dayStart - (DAYS - 1) * DAY_MS;
  db.transaction(() => {
    // Windows of the last day, the whole fleet.
    for (let t = now - DAY_MS; t < now; t += MIN) put.run('window', FLEET, t, blobs.fw, DEVICES, fleetWindow.count, now);
    for (let h = firstDay; h < now; h += HOUR_MS) {
      put.run('hour', FLEET, h, blobs.fh, DEVICES * 60, fleetHour.count, now);
      for (let s = 0; s < SITES; s++) put.run('hour', siteScope(`site-${s}`), h, blobs.sh, Math.ceil(DEVICES / SITES) * 60, siteHour.count, now);
    }
    for (let d = firstDay; d < now; d += DAY_MS) {
      put.run('day', FLEET, d, blobs.fd, DEVICES * 1440, fleetDay.count, now);
      for (let s = 0; s < SITES; s++) put.run('day', siteScope(`site-${s}`), d, blobs.sd, Math.ceil(DEVICES / SITES) * 1440, siteDay.count, now);
    }
    // The devices: online, offline and unheard ones, continuous and scheduled; 3% with a drift alert.
    const dev = db.prepare(`
      INSERT INTO devices (id, site, first_seen, last_seen, agent_version, online, status_at, sync_mode, sync_cron, last_seq, summaries)
      VALUES (?, ?, ?, ?, '0.1.0', ?, ?, ?, ?, ?, ?)`);
    const alert = db.prepare(`
      INSERT INTO alerts (device, seq, idx, alert_id, rule, model, model_version, state, severity, metric, value, updated_at)
      VALUES (?, 1, 0, 1, 'drift', 'fraud', 'v1', 'firing', 'warning', 'drift.share', 0.4, ?)`);
    for (let i = 0; i < DEVICES; i++) {
      const id = `dev-${String(i).padStart(5, '0')}`;
      const scheduled = i % 4 === 0;
      const online = i % 50 === 7 ? 0 : i % 97 === 3 ? null : 1;
      dev.run(id, `site-${i % SITES}`, firstDay, now - (i % 600) * 1000, online, now - 3_600_000, scheduled ? 'scheduled' : 'continuous', scheduled ? '0 */6 * * *' : null, DAYS * 1440, DAYS * 1440);
      if (i % 33 === 0) alert.run(id, now - 120_000);
    }
    store.putBaseline({ model: 'fraud', model_version: 'v1', profile: baseline.encode(), records: baseline.count, source: 'bench', created_at: now, uploaded_at: now, uploaded_by: 'bench', agents: 0 });
  })();
  new AlertEngine(db, defaultCollectorConfig().alerts, silentCollectorLogger).evaluate(now);
  const writeMs = ms(t0);
  const buckets = (db.prepare('SELECT resolution, count(*) AS n, sum(length(profile)) AS bytes FROM fleet_buckets GROUP BY resolution').all() as { resolution: string; n: number; bytes: number }[]).map((r) => ({
    resolution: r.resolution,
    buckets: r.n,
    mb: +(r.bytes / 1e6).toFixed(1),
  }));

  // ---- merges, in process ----
  const q = (resolution: 'window' | 'hour' | 'day', from: number, to: number) => ({ model: 'fraud', version: 'v1', scope: FLEET, resolution, from, to });
  const time = (f: () => unknown) => {
    const xs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      f();
      xs.push(performance.now() - t);
    }
    return +median(xs).toFixed(1);
  };
  const lastHour = now - (now % HOUR_MS) - HOUR_MS;
  const yesterday = dayStart - DAY_MS;
  const merges = {
    hour_from_60_windows_ms: time(() => store.fleetProfile(q('window', lastHour, lastHour + HOUR_MS))),
    hour_from_its_bucket_ms: time(() => store.fleetProfile(q('hour', lastHour, lastHour + HOUR_MS))),
    day_from_24_hours_ms: time(() => store.fleetProfile(q('hour', yesterday, yesterday + DAY_MS))),
    day_from_its_bucket_ms: time(() => store.fleetProfile(q('day', yesterday, yesterday + DAY_MS))),
    week_from_7_days_ms: time(() => store.fleetProfile(q('day', firstDay, now))),
    check: {
      hour_records: store.fleetProfile(q('window', lastHour, lastHour + HOUR_MS)).records,
      day_records: store.fleetProfile(q('hour', yesterday, yesterday + DAY_MS)).records,
    },
  };
  store.close();

  // ---- the collector, and the fleet page's requests ----
  const token = crypto.randomBytes(24).toString('hex');
  const cfg = path.join(dir, 'collector.yaml');
  fs.writeFileSync(cfg, [`data_dir: ${JSON.stringify(dataDir)}`, 'mqtt: {listen: "127.0.0.1:0"}', 'http:', '  listen: "127.0.0.1:0"', '  tokens:', `    - {name: bench, token: "${token}", role: read}`, ''].join('\n'));
  const bin = path.join(ROOT, 'dist/edgewatch-collector.js');
  const child = spawn(process.execPath, [bin, 'run', '--config', cfg, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const base = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /http api on (http:\/\/\S+?)\/api\/devices/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`collector exited (${code}): ${out}`)));
  });
  const auth = { headers: { authorization: `Bearer ${token}` } };
  const pageRequests: Record<string, (i: number) => string> = {
    devices_page: (i) => `/api/fleet/devices?offset=${(i * 50) % DEVICES}&limit=50&sort=last_seen&order=desc`,
    devices_search: (i) => `/api/fleet/devices?q=site-${i % SITES}&limit=50&sort=id`,
    models: () => '/api/models',
    alerts: () => '/api/alerts',
    fleet_day: () => `/api/models/fraud/versions/v1/fleet?from=${now - DAY_MS}&to=${now}`,
    fleet_hour: () => `/api/models/fraud/versions/v1/fleet?from=${now - HOUR_MS}&to=${now}&resolution=hour`,
  };
  const latency: Record<string, { p50_ms: number; p99_ms: number; status: number; bytes: number }> = {};
  const all: number[] = [];
  for (const [name, url] of Object.entries(pageRequests)) {
    await fetch(`${base}${url(0)}`, auth).then((r) => r.arrayBuffer()); // warm
    const xs: number[] = [];
    let status = 0;
    let bytes = 0;
    for (let i = 0; i < REQUESTS; i++) {
      const t = performance.now();
      const r = await fetch(`${base}${url(i)}`, auth);
      bytes = (await r.arrayBuffer()).byteLength;
      xs.push(performance.now() - t);
      status = r.status;
    }
    all.push(...xs);
    latency[name] = { p50_ms: +quantile(xs, 0.5).toFixed(1), p99_ms: +quantile(xs, 0.99).toFixed(1), status, bytes };
  }
  await sleep(200);
  const rssMb = procRssMb(child.pid!);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));

  const pageP99 = +quantile(all, 0.99).toFixed(1);
  Object.assign(result, {
    setup: { templates_ms: templatesMs, fleet_window_from_devices_ms: fleetWindowMs, hour_from_60_windows_merge_ms: hourFrom60Ms, write_ms: writeMs, buckets },
    merges,
    page: { requests_each: REQUESTS, latency, p99_ms_all: pageP99 },
    collector_rss_mb: rssMb,
    marks: {
      page_p99_ok: pageP99 < MARKS.page_p99_ms_max && Object.values(latency).every((l) => l.status === 200),
      day_merge_ok: merges.day_from_24_hours_ms < MARKS.day_merge_ms_max,
    },
    mark_values: MARKS,
  });
  console.log(JSON.stringify(result, null, 2));
  if (!args.keep) fs.rmSync(dir, { recursive: true, force: true });
  else process.stderr.write(`kept ${dir}\n`);
}

await main();
