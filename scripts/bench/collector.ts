// Collector benchmark (issue 5): a fleet of simulated agents drains real 20-feature window summaries
// into the collector's embedded broker, one MQTT connection per device, many devices at once, each
// publishing its summaries at QoS 1, waiting for the PUBACKs and disconnecting (a scheduled agent
// draining its outbox). The collector runs as a child process; its ingest rate is read from its own
// store (first to last message received), its CPU and peak RSS from /proc. Beside it, the bytes of
// one summary against the raw JSONL of the same 1-minute window. Prints one JSON object.
//
//   node --import tsx scripts/bench/collector.ts [--devices 10000] [--per-device 4] [--concurrency 500]
//       [--templates 4] [--segments features.region|none] [--status] [--cpu-prof] [--from-source]
//       [--client raw|mqttjs] [--tmp DIR] [--keep]
//
// --client   how the simulated devices speak MQTT: `raw` (default) writes packets encoded before the
//            run (scripts/bench/mqtt-raw.ts), the same bytes an agent sends, at a fraction of the
//            CPU; `mqttjs` runs one mqtt.js client per device, as the agent does. On a 2-core machine
//            the simulator shares the cores with the collector, so the raw client leaves it more.
// --status   also publishes the agent's online/offline status messages (retained, QoS 1) around the
//            summaries, as agent/sync/publisher.ts does on every connection; only summaries count.
// --cpu-prof starts the collector with node --cpu-prof and adds its top self-time functions.
// --tmp      where the working folder (and the collector's data_dir) goes: /dev/shm takes the disk out.
// The collector is dist/edgewatch-collector.js (built when missing, if the build makes it), else
// collector/cli/bin.ts through tsx; `collector.command` in the JSON says which.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { decode as decodeCborRaw, Encoder } from 'cbor-x';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { loadAgentConfig } from '../../agent/config/index.js';
import { binEdgesFor, compareProfiles } from '../../agent/drift/index.js';
import { silentLogger } from '../../agent/log.js';
import { WindowProfile } from '../../agent/profile/index.js';
import { createLineParser, FeatureTypes } from '../../agent/records/index.js';
import { profileFile } from '../../agent/runtime/profile-file.js';
import { windowMessages } from '../../agent/sync/summary.js';
import { SystemSampler, systemSources, type AgentHealth } from '../../agent/system/index.js';
import { encodeEnvelope, encodeStatus, WIRE_VERSION } from '../../agent/wire/index.js';
import { generateLines, writeLogFile } from '../gen-logs.js';
import { connectPacket, publishPacket, runRawSession, type RawSession } from './mqtt-raw.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const COLLECTOR_DIST = path.join(ROOT, 'dist/edgewatch-collector.js');
const COLLECTOR_SOURCE = path.join(ROOT, 'collector/cli/bin.ts');
/** /proc/<pid>/stat counts CPU time in clock ticks; USER_HZ is 100 on every Linux we ship to. */
const CLOCK_TICKS = 100;
const MARKS = { ingest_per_s_min: 5000, summary_bytes_max: 20_000, raw_to_summary_min: 100 };
// 20 features: f0..f15 numeric, c0..c2 and region categorical.
const GEN = { numericFeatures: 16, categoricalFeatures: 3 } as const;
const WINDOW_S = 60;
const RATE = 100;
const BASELINE_RECORDS = 30_000;
const SITES = 50;

const { values: args } = parseArgs({
  options: {
    devices: { type: 'string', default: process.env['EW_BENCH_DEVICES'] ?? '10000' },
    'per-device': { type: 'string', default: process.env['EW_BENCH_PER_DEVICE'] ?? '4' },
    concurrency: { type: 'string', default: process.env['EW_BENCH_CONCURRENCY'] ?? '500' },
    templates: { type: 'string', default: '4' },
    segments: { type: 'string', default: 'features.region' },
    status: { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
    'from-source': { type: 'boolean', default: false },
    tmp: { type: 'string', default: os.tmpdir() },
    keep: { type: 'boolean', default: false },
    client: { type: 'string', default: 'raw' },
  },
});
const DEVICES = Number(args.devices);
const PER_DEVICE = Number(args['per-device']);
const CONCURRENCY = Number(args.concurrency);
const TEMPLATES = Number(args.templates);
if (args.client !== 'raw' && args.client !== 'mqttjs') throw new Error(`--client must be raw or mqttjs, got ${args.client}`);
const RAW_CLIENT = args.client === 'raw';
const SEGMENTS = args.segments === 'none' || args.segments === '' ? [] : args.segments.split(',');
for (const [flag, v] of [['--devices', DEVICES], ['--per-device', PER_DEVICE], ['--concurrency', CONCURRENCY], ['--templates', TEMPLATES]] as const) {
  if (!Number.isSafeInteger(v) || v < 1) throw new Error(`${flag} must be a positive integer, got ${v}`);
}

const round1 = (x: number) => +x.toFixed(1);
const round3 = (x: number) => +x.toFixed(3);
const kib = (b: number) => +(b / 1024).toFixed(2);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
// The profile codec's CBOR options (agent/profile/codec.ts): part sizes measured as it writes them.
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, variableMapSize: true });
const sizeOf = (v: unknown) => (v === undefined ? 0 : cbor.encode(v).length);

// ---- summaries, made as the agent makes them ----

interface Template {
  seed: number;
  drifted: boolean;
  records: number;
  rawBytes: number;
  /** As it travels: deflated when `enc` says so. */
  body: Uint8Array;
  enc: 'deflate' | null;
  profileBytes: number;
  driftJsonBytes: number;
  /** The same window with no segments configured, for comparison. */
  profileBytesNoSegments: number;
  profile: Uint8Array;
}

function writeAgentConfig(dir: string, segments: string[]): string {
  const file = path.join(dir, `agent-${segments.length}.yaml`);
  fs.writeFileSync(
    file,
    [
      'device: {id: bench, site: bench}',
      `data_dir: ${JSON.stringify(path.join(dir, 'agent-data'))}`,
      'system: {enabled: true, interval: 10s}',
      'models:',
      '  - name: fraud',
      '    task: classification',
      `    logs: [${JSON.stringify(path.join(dir, 'unused.jsonl'))}]`,
      '    format: jsonl',
      `    window: ${WINDOW_S}s`,
      `    segments: ${JSON.stringify(segments)}`,
      '',
    ].join('\n'),
  );
  return file;
}

/** System readings of a real sampling round on this machine, one per 10 s of the window. */
async function systemRounds(configPath: string, dataDir: string, n: number) {
  const config = loadAgentConfig(configPath);
  const health: AgentHealth = {
    lines: 0,
    takeCommitMs: () => [],
    dbFiles: [path.join(dataDir, 'edgewatch.db'), path.join(dataDir, 'edgewatch.db-wal')],
    errors: new Map(),
    outbox: () => ({ messages: 0, bytes: 0 }),
  };
  const sampler = new SystemSampler({ intervalMs: 10_000, sources: systemSources(config, () => health), now: Date.now, log: silentLogger, onRound: () => {} });
  await sampler.round(); // no previous counters yet: no rates
  const rounds = [];
  for (let i = 0; i < n; i++) {
    await sleep(50);
    const r = await sampler.round();
    rounds.push({ readings: r.readings, failed: r.failed });
  }
  await sampler.stop();
  return rounds;
}

async function buildTemplates(dir: string) {
  const t0 = performance.now();
  const configs = { seg: loadAgentConfig(writeAgentConfig(dir, SEGMENTS)), none: loadAgentConfig(writeAgentConfig(dir, [])) };
  const model = configs.seg.models[0]!;
  const modelNone = configs.none.models[0]!;
  const maxMessageBytes = configs.seg.sync.max_message_bytes;
  const types = new FeatureTypes(model.features, model.infer_features);
  const readTime = Date.now();
  const lineOpts = { ...GEN, rate: RATE, arrivals: 'even' } as const;

  // The baseline as `edgewatch-agent baseline` makes one (agent/cli/baseline.ts): a file profiled
  // twice, the second time counting exactly on the first pass's deciles.
  const baselineFile = path.join(dir, 'baseline.jsonl');
  writeLogFile(baselineFile, { ...lineOpts, seed: 1000, records: BASELINE_RECORDS, start: '2025-12-31T00:00:00Z' });
  const first = profileFile(baselineFile, model, types, 'v1');
  const baseline = profileFile(baselineFile, model, types, 'v1', undefined, binEdgesFor(first.profile)).profile;
  const edges = binEdgesFor(baseline);
  const parser = createLineParser(model, types);
  const rounds = await systemRounds(writeAgentConfig(dir, SEGMENTS), path.join(dir, 'agent-data'), WINDOW_S / 10);

  const templates: Template[] = [];
  for (let t = 0; t < TEMPLATES; t++) {
    // Windows on minute boundaries; every other template has drift (f0 shifted, c0 reversed, c1 new value).
    const start = Date.UTC(2026, 0, 1, 0, t);
    const drifted = t % 2 === 1;
    const meta = { model: model.name, modelVersion: 'v1', start, end: start + WINDOW_S * 1000 };
    const profile = new WindowProfile(meta, { task: model.task, categoricalCap: model.categorical_cap, segmentCap: model.segment_cap, segmentPaths: model.segments, ...edges });
    const bare = new WindowProfile(meta, { task: model.task, categoricalCap: modelNone.categorical_cap, segmentCap: modelNone.segment_cap, segmentPaths: modelNone.segments, ...edges });
    let rawBytes = 0;
    let records = 0;
    for (const line of generateLines({ ...lineOpts, seed: 1 + t, records: RATE * WINDOW_S, start: new Date(start).toISOString(), driftFrom: drifted ? 0 : null })) {
      rawBytes += Buffer.byteLength(line.text) + line.eol.length;
      if (line.kind !== 'good') continue;
      records++;
      const r = parser.parse(line.text, readTime);
      if (!r.ok) {
        profile.addRejection(r.rejection);
        bare.addRejection(r.rejection);
      } else if (r.record !== null) {
        profile.add(r.record);
        bare.add(r.record);
      }
    }
    for (const r of rounds) {
      profile.addSystemRound(r.readings, r.failed);
      bare.addSystemRound(r.readings, r.failed);
    }
    const drift = compareProfiles(baseline, profile, model.drift.rule, model.drift.features);
    const driftJson = JSON.stringify(drift);
    const m = windowMessages('summary', { profile, drift, driftJson, closedAt: meta.end + 1000, revision: 0 }, [], maxMessageBytes);
    if (m.entries.length !== 1) throw new Error(`template ${t}: the window went as ${m.entries.length} parts`);
    const encoded = profile.encode();
    templates.push({
      seed: 1 + t,
      drifted,
      records,
      rawBytes,
      body: m.entries[0]!.body,
      enc: m.entries[0]!.enc,
      profile: encoded,
      profileBytes: encoded.length,
      driftJsonBytes: Buffer.byteLength(driftJson),
      profileBytesNoSegments: bare.encode().length,
    });
  }
  return { templates, seconds: (performance.now() - t0) / 1000, segments: model.segments, maxMessageBytes };
}

/** Encoded size of each part of a profile (agent/profile/codec.ts keys), from its raw CBOR. */
function profileParts(bytes: Uint8Array) {
  const w = decodeCborRaw(bytes) as Record<string, unknown>;
  const fn = (w['fn'] ?? []) as [string, Record<string, unknown>][];
  const fc = (w['fc'] ?? []) as [string, unknown][];
  const digest = fn.reduce((a, [, s]) => a + sizeOf(s['d']), 0);
  const bins = fn.reduce((a, [, s]) => a + sizeOf(s['b']), 0);
  const parts = {
    numeric_tdigests: digest,
    numeric_exact_bins: bins,
    numeric_moments_and_names: sizeOf(fn) - digest - bins,
    categoricals: sizeOf(fc),
    latency_and_confidence: sizeOf(w['lat']) + sizeOf(w['cf']),
    prediction_label_quality: sizeOf(w['p']) + sizeOf(w['y']) + sizeOf(w['q']),
    status_errors_rejections: sizeOf(w['st']) + sizeOf(w['er']) + sizeOf(w['rj']) + sizeOf(w['fm']),
    segments: sizeOf(w['sg']),
    system: sizeOf(w['sy']),
  };
  const total = bytes.length;
  const named = Object.values(parts).reduce((a, b) => a + b, 0);
  return {
    bytes: parts,
    share: Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, round3(v / total)])),
    header_and_cbor_framing: total - named,
    numeric_features: fn.length,
    categorical_features: fc.length,
    bytes_per_numeric_feature: Math.round(sizeOf(fn) / Math.max(1, fn.length)),
    tdigest_bytes_per_feature: Math.round(digest / Math.max(1, fn.length)),
    bins_bytes_per_feature: Math.round(bins / Math.max(1, fn.length)),
  };
}

// ---- the collector child ----

/** The bundle's first line, `#!/usr/bin/env -S [NAME=VALUE]... node [FLAG]...`, taken apart. */
function readShebang(file: string): { env: Record<string, string>; flags: string[] } {
  const first = fs.readFileSync(file, 'utf8').split('\n', 1)[0] ?? '';
  if (!first.startsWith('#!')) return { env: {}, flags: [] };
  const words = first.replace(/^#!\S+(\s+-S)?\s+/, '').split(/\s+/).filter(Boolean);
  const env: Record<string, string> = {};
  while (words.length > 0 && /^[A-Z_][A-Z0-9_]*=/.test(words[0]!)) {
    const [name, ...value] = words.shift()!.split('=');
    env[name!] = value.join('=');
  }
  return { env, flags: words[0] === 'node' ? words.slice(1) : [] };
}

/** How to start the collector: the bundle (building it when missing), else the source through tsx. */
function collectorCommand(): { argv: string[]; env: Record<string, string>; shown: string; fromSource: boolean; note: string | null } {
  let note: string | null = null;
  if (!args['from-source'] && !fs.existsSync(COLLECTOR_DIST)) {
    try {
      execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    } catch (err) {
      note = `npm run build failed: ${(err as Error).message.split('\n')[0]}`;
    }
    if (!fs.existsSync(COLLECTOR_DIST)) note ??= 'npm run build did not make dist/edgewatch-collector.js';
  }
  if (!args['from-source'] && fs.existsSync(COLLECTOR_DIST)) {
    const sb = readShebang(COLLECTOR_DIST);
    const shownEnv = Object.entries(sb.env).map(([k, v]) => `${k}=${v} `).join('');
    return { argv: [...sb.flags, COLLECTOR_DIST], env: sb.env, shown: `${shownEnv}node ${[...sb.flags, 'dist/edgewatch-collector.js'].join(' ')}`, fromSource: false, note };
  }
  return { argv: ['--import', 'tsx', COLLECTOR_SOURCE], env: {}, shown: 'node --import tsx collector/cli/bin.ts', fromSource: true, note: note ?? (args['from-source'] ? '--from-source' : null) };
}

/** utime + stime (ticks) of a live process, or null once it is gone. */
function cpuTicks(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": utime is field 14, stime 15 (proc(5)); comm may hold spaces.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return null;
  }
}

function procKb(pid: number, key: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const m = new RegExp(`${key}:\\s+(\\d+)`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Busy and total jiffies of the whole machine (all cores), from /proc/stat. */
function machineJiffies(): { busy: number; total: number } {
  const cpu = (fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '').split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  return { busy: total - idle, total };
}

/** The filesystem type a path is on (the longest mount point that holds it), from /proc/mounts. */
function fsType(p: string): string {
  let best = { at: '', type: 'unknown' };
  for (const line of fs.readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const [, at, type] = line.split(' ');
    if (at !== undefined && type !== undefined && (p === at || p.startsWith(at.endsWith('/') ? at : at + '/')) && at.length >= best.at.length) best = { at, type };
  }
  return `${best.type} (${best.at})`;
}

const loadavg = () => fs.readFileSync('/proc/loadavg', 'utf8').trim();

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

async function startCollector(dir: string, cmd: ReturnType<typeof collectorCommand>, profDir: string | null) {
  const dataDir = path.join(dir, 'collector-data');
  const configPath = path.join(dir, 'collector.yaml');
  fs.writeFileSync(
    configPath,
    [`data_dir: ${JSON.stringify(dataDir)}`, 'mqtt:', '  listen: "127.0.0.1:0"', '  allow_anonymous: true', 'http:', '  listen: null', ''].join('\n'),
  );
  const prof = profDir === null ? [] : ['--cpu-prof', '--cpu-prof-dir', profDir];
  const child = spawn(process.execPath, [...prof, ...cmd.argv, 'run', '--config', configPath, '--log-level', 'warn'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...cmd.env },
  });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`collector did not start in 60 s:\n${out}\n${log}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /mqtt broker listening on (mqtt:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`collector exited (${code}) before listening:\n${out}\n${log}`));
    });
  });
  return { child, url, dataDir, configPath, log: () => log };
}

// ---- the fleet ----

interface Device {
  id: string;
  site: string;
  messages: Buffer[];
  /** The same session as raw MQTT packets (--client raw). */
  raw: RawSession | null;
}

function clientOptions(d: Device): IClientOptions {
  // As agent/sync/publisher.ts connects: a persistent session, its own reconnects, a last will.
  return {
    clientId: `edgewatch-agent-${d.id}`,
    clean: false,
    protocolVersion: 4,
    keepalive: 60,
    reconnectPeriod: 0,
    connectTimeout: 60_000,
    username: d.id,
    will: { topic: `edgewatch/v1/${d.site}/${d.id}/status`, payload: statusPayload(d, 'offline'), qos: 1, retain: true },
  };
}

function statusPayload(d: Device, state: 'online' | 'offline'): Buffer {
  return Buffer.from(
    encodeStatus({ v: WIRE_VERSION, device: d.id, site: d.site, state, at: Date.now(), agent_version: 'bench', sync: { mode: 'scheduled', cron: '*/5 * * * *' } }),
  );
}

function opened(client: MqttClient): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => {
      client.off('connect', ok);
      reject(err);
    };
    const ok = () => {
      client.off('error', fail);
      client.off('close', closed);
      resolve();
    };
    const closed = () => fail(new Error('connection closed before CONNACK'));
    client.once('connect', ok);
    client.once('error', fail);
    client.once('close', closed);
  });
}

/** One device's sync session: connect, publish its summaries at QoS 1, wait for every PUBACK, disconnect. */
async function session(url: string, d: Device, withStatus: boolean): Promise<void> {
  const client = connect(url, clientOptions(d));
  try {
    await opened(client);
    const sends: Promise<unknown>[] = [];
    const statusTopic = `edgewatch/v1/${d.site}/${d.id}/status`;
    if (withStatus) sends.push(client.publishAsync(statusTopic, statusPayload(d, 'online'), { qos: 1, retain: true }));
    const topic = `edgewatch/v1/${d.site}/${d.id}/summary`;
    for (const m of d.messages) sends.push(client.publishAsync(topic, m, { qos: 1 }));
    await Promise.all(sends);
    if (withStatus) await client.publishAsync(statusTopic, statusPayload(d, 'offline'), { qos: 1, retain: true });
    await client.endAsync();
  } catch (err) {
    client.end(true);
    throw err;
  }
}

/** The session of `session` as packets encoded ahead: CONNECT with the will, then the PUBLISHes. */
function rawSession(d: Device, withStatus: boolean): RawSession {
  const o = clientOptions(d);
  const will = o.will!;
  const connect = connectPacket({
    clientId: o.clientId!,
    username: o.username ?? null,
    cleanSession: false,
    keepaliveS: o.keepalive!,
    will: { topic: will.topic, payload: will.payload as Buffer, qos: 1, retain: true },
  });
  const statusTopic = `edgewatch/v1/${d.site}/${d.id}/status`;
  const topic = `edgewatch/v1/${d.site}/${d.id}/summary`;
  const packets: Buffer[] = [];
  if (withStatus) packets.push(publishPacket(statusTopic, statusPayload(d, 'online'), 1, true));
  for (const m of d.messages) packets.push(publishPacket(topic, m, packets.length + 1));
  if (withStatus) packets.push(publishPacket(statusTopic, statusPayload(d, 'offline'), packets.length + 1, true));
  return { connect, publishes: Buffer.concat(packets), count: packets.length };
}

async function runFleet(url: string, devices: Device[], concurrency: number, withStatus: boolean) {
  const u = new URL(url);
  let next = 0;
  let retries = 0;
  const errors = new Map<string, number>();
  const worker = async () => {
    for (;;) {
      const i = next++;
      const d = devices[i];
      if (d === undefined) return;
      // A refused or dropped session is tried again, as an agent would on its next tick.
      for (let attempt = 0; ; attempt++) {
        try {
          if (d.raw !== null) await runRawSession(u.hostname, Number(u.port), d.raw);
          else await session(url, d, withStatus);
          break;
        } catch (err) {
          const key = (err as Error).message.slice(0, 80);
          errors.set(key, (errors.get(key) ?? 0) + 1);
          if (attempt >= 5) throw new Error(`device ${d.id}: ${key} (after ${attempt + 1} tries)`);
          retries++;
          await sleep(100 * (attempt + 1));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, devices.length) }, worker));
  return { retries, errors: Object.fromEntries(errors) };
}

// ---- the collector's profile ----

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

/**
 * Functions of the collector's path (collector/, agent/wire, better-sqlite3, aedes, mqtt-packet)
 * that self time is grouped under: the innermost one on a sample's stack.
 */
const STAGES = new Set([
  // ingest (collector/ingest, agent/wire)
  'decodeEnvelope', 'decodeBody', 'structuralCheck', 'fullCheck', 'isJsonObject', 'checkWire', 'fromMqttBatch', 'refuse',
  // store (collector/store, better-sqlite3)
  'writeSummary', 'writeMessage', 'sqliteTransaction',
  // broker (collector/broker/embedded.ts, aedes)
  'flush', 'commit', 'authorizePublish', 'enqueuePublish', 'handlePublish', 'handleConnect', 'authenticate', 'storeWill',
  'registerClient', 'doConnack', 'emptyQueue', 'fetchSubs', 'restoreSubs', 'handlePuback', 'handleDisconnect', 'writeQoS',
  'Client', 'nextBatch', 'handle', 'close', 'closeClient',
  // MQTT packets (mqtt-packet)
  'parse', 'generate', 'writeToStream',
]);

/** Top self-time functions of a .cpuprofile, and self time by where the code lives and by stage. */
function summarizeProfile(file: string) {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const totalUs = [...self.values()].reduce((a, b) => a + b, 0);
  const fns = new Map<string, number>();
  const areas = new Map<string, number>();
  const short = (url: string) => url.replace(/^file:\/\//, '').replace(ROOT + '/', '');
  const area = (url: string, fn: string): string => {
    if (url === '') return fn.startsWith('(') ? fn : 'native/builtin';
    const u = short(url);
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u);
    if (m) return m[1]!;
    if (u.startsWith('node:')) return 'node core';
    return u.split('/').slice(0, 2).join('/');
  };
  for (const [id, us] of self) {
    const n = byId.get(id);
    if (!n) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const key = `${functionName || '(anonymous)'} ${url === '' ? '' : `${short(url)}:${lineNumber + 1}`}`.trim();
    fns.set(key, (fns.get(key) ?? 0) + us);
    const a = area(url, functionName);
    areas.set(a, (areas.get(a) ?? 0) + us);
  }
  // Self time by the innermost stage it ran under: what each step of a message costs, whoever the leaf.
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stages = new Map<string, number>();
  for (const [id, us] of self) {
    let stage: string | null = null;
    for (let at: number | undefined = id; at !== undefined && stage === null; at = parent.get(at)) {
      const f = byId.get(at)?.callFrame;
      if (f !== undefined && f.url !== '' && STAGES.has(f.functionName)) stage = f.functionName;
    }
    const leaf = byId.get(id)?.callFrame;
    const key = stage ?? `(no stage: ${leaf === undefined ? '?' : area(leaf.url, leaf.functionName)})`;
    stages.set(key, (stages.get(key) ?? 0) + us);
  }
  const pct = (us: number) => round1((100 * us) / totalUs);
  const top = (m: Map<string, number>, n: number) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, us]) => ({ what: k, self_ms: Math.round(us / 1000), percent: pct(us) }));
  return { file: path.basename(file), sampled_ms: Math.round(totalUs / 1000), top_functions: top(fns, 25), by_area: top(areas, 15), by_stage: top(stages, 30) };
}

// ---- the run ----

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(args.tmp, 'ew-bench-collector-'));
  const loadBefore = loadavg();
  const cmd = collectorCommand();

  const made = await buildTemplates(dir);
  const { templates } = made;

  // Every envelope encoded before anything is timed: only (device, seq, sent_at) differ from the templates.
  const t0enc = performance.now();
  const sentAt = Date.now();
  const devices: Device[] = [];
  const envelopeBytes: number[] = [];
  for (let i = 0; i < DEVICES; i++) {
    const id = `dev-${String(i).padStart(5, '0')}`;
    const site = `site-${i % SITES}`;
    const messages: Buffer[] = [];
    for (let seq = 1; seq <= PER_DEVICE; seq++) {
      const t = templates[(i + seq) % templates.length]!;
      const env = encodeEnvelope({ v: WIRE_VERSION, device: id, site, seq, kind: 'summary', sent_at: sentAt, body: t.body, ...(t.enc === null ? {} : { enc: t.enc }) });
      messages.push(Buffer.from(env.buffer, env.byteOffset, env.byteLength));
      envelopeBytes.push(env.byteLength);
    }
    const d: Device = { id, site, messages, raw: null };
    if (RAW_CLIENT) {
      d.raw = rawSession(d, args.status);
      d.messages = [];
    }
    devices.push(d);
  }
  const encodeSeconds = (performance.now() - t0enc) / 1000;
  const total = DEVICES * PER_DEVICE;

  const profDir = args['cpu-prof'] ? path.join(dir, 'cpu-prof') : null;
  const collector = await startCollector(dir, cmd, profDir);
  const pid = collector.child.pid!;
  const died = exited(collector.child).then((code) => {
    throw new Error(`collector exited early (${code}):\n${collector.log()}`);
  });
  died.catch(() => {});
  await sleep(500);

  let rssMaxKb = procKb(pid, 'VmRSS') ?? 0;
  const rssAtStartKb = rssMaxKb;
  const rssTimer = setInterval(() => (rssMaxKb = Math.max(rssMaxKb, procKb(pid, 'VmRSS') ?? 0)), 200);
  const ticks0 = cpuTicks(pid)!;
  const machine0 = machineJiffies();
  const simCpu0 = process.cpuUsage();
  const t0 = performance.now();
  const fleet = await Promise.race([runFleet(collector.url, devices, CONCURRENCY, args.status), died]);
  const wallSeconds = (performance.now() - t0) / 1000;
  const simCpu = process.cpuUsage(simCpu0);
  const machine1 = machineJiffies();
  const ticks1 = cpuTicks(pid)!;
  clearInterval(rssTimer);
  const loadAfter = loadavg();
  const hwmKb = procKb(pid, 'VmHWM');
  rssMaxKb = Math.max(rssMaxKb, procKb(pid, 'VmRSS') ?? 0);

  collector.child.kill('SIGTERM');
  const exitCode = await exited(collector.child);

  // What the collector stored, read from its own file after a clean stop.
  const db = new Database(path.join(collector.dataDir, 'collector.db'), { readonly: true });
  const one = <T>(sql: string) => db.prepare(sql).get() as T;
  const msgs = one<{ n: number; devices: number; first: number; last: number; bytes: number }>(
    'SELECT count(*) AS n, count(DISTINCT device) AS devices, min(received_at) AS first, max(received_at) AS last, sum(bytes) AS bytes FROM messages',
  );
  const summaries = one<{ n: number }>('SELECT count(*) AS n FROM summaries').n;
  const badDevices = one<{ n: number }>(
    `SELECT count(*) AS n FROM (SELECT device, count(*) AS c, min(seq) AS lo, max(seq) AS hi FROM messages GROUP BY device)
     WHERE c != ${PER_DEVICE} OR lo != 1 OR hi != ${PER_DEVICE}`,
  ).n;
  // Messages per collector millisecond: how many PUBLISHes one commit took (one event-loop turn).
  const perMs = one<{ turns: number; max: number }>('SELECT count(*) AS turns, max(c) AS max FROM (SELECT count(*) AS c FROM messages GROUP BY received_at)');
  const rejections = db.prepare('SELECT reason, sum(count) AS n FROM rejections GROUP BY reason').all() as { reason: string; n: number }[];
  const duplicates = (db.prepare("SELECT value FROM counters WHERE name = 'duplicates'").get() as { value: number } | undefined)?.value ?? 0;
  db.close();
  const statusArgv = [...cmd.argv, 'status', '--config', collector.configPath, '--json'];
  const status = JSON.parse(execFileSync(process.execPath, statusArgv, { cwd: ROOT, encoding: 'utf8' })) as {
    devices: number;
    summaries: number;
    duplicates: number;
    rejected: Record<string, number>;
    gaps: unknown[];
  };
  const dbBytes = fs.statSync(path.join(collector.dataDir, 'collector.db')).size;

  const storeSeconds = (msgs.last - msgs.first) / 1000;
  const ingestRate = storeSeconds > 0 ? (msgs.n - 1) / storeSeconds : NaN;
  const cpuPercent = (100 * (ticks1 - ticks0)) / CLOCK_TICKS / wallSeconds;

  const maxEnvelope = Math.max(...envelopeBytes);
  const meanEnvelope = mean(envelopeBytes);
  const perTemplate = templates.map((t) => {
    const envelope = encodeEnvelope({ v: WIRE_VERSION, device: 'dev-00000', site: 'site-0', seq: 1, kind: 'summary', sent_at: sentAt, body: t.body, ...(t.enc === null ? {} : { enc: t.enc }) }).length;
    return {
      seed: t.seed,
      drifted: t.drifted,
      records: t.records,
      raw_log_bytes: t.rawBytes,
      envelope_bytes: envelope,
      body_bytes: t.body.length,
      profile_bytes: t.profileBytes,
      drift_json_bytes: t.driftJsonBytes,
      profile_bytes_without_segments: t.profileBytesNoSegments,
      raw_to_summary: round1(t.rawBytes / envelope),
    };
  });
  const worstRatio = Math.min(...perTemplate.map((t) => t.raw_to_summary));
  const biggest = templates[perTemplate.findIndex((t) => t.envelope_bytes === Math.max(...perTemplate.map((x) => x.envelope_bytes)))]!;

  let cpuProfile: ReturnType<typeof summarizeProfile> | null = null;
  if (profDir !== null) {
    const files = fs.existsSync(profDir) ? fs.readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')) : [];
    if (files[0] !== undefined) cpuProfile = summarizeProfile(path.join(profDir, files[0]));
  }

  const stored = { devices: status.devices, summaries: status.summaries, duplicates: status.duplicates, rejected: status.rejected, gaps: status.gaps.length };
  const exactlyOnce =
    msgs.n === total && msgs.devices === DEVICES && summaries === total && badDevices === 0 && rejections.length === 0 && status.devices === DEVICES && status.summaries === total;
  const result = {
    bench: 'collector',
    node: process.version,
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    loadavg_before: loadBefore,
    loadavg_after: loadAfter,
    data_dir_filesystem: fsType(dir),
    machine_busy_percent_during_run: round1((100 * (machine1.busy - machine0.busy)) / (machine1.total - machine0.total)),
    collector: {
      command: `${cmd.shown} run --config <tmp>/collector.yaml --log-level warn`,
      from_source: cmd.fromSource,
      note: cmd.note,
      cpu_profiled: profDir !== null,
      exit_code: exitCode,
    },
    fleet: {
      devices: DEVICES,
      summaries_per_device: PER_DEVICE,
      messages: total,
      concurrency: Math.min(CONCURRENCY, DEVICES),
      status_messages: args.status,
      templates: TEMPLATES,
      sites: SITES,
      session: 'one MQTT 3.1.1 connection per device (clean: false, last will), QoS 1 publishes, all PUBACKs awaited, then DISCONNECT',
      client: RAW_CLIENT ? 'raw packets encoded before the run (scripts/bench/mqtt-raw.ts)' : 'mqtt.js, one client per device',
      retries: fleet.retries,
      errors: fleet.errors,
      build_templates_s: round3(made.seconds),
      pre_encode_s: round3(encodeSeconds),
    },
    ingest: {
      summaries_per_s: Math.round(ingestRate),
      store_first_to_last_s: round3(storeSeconds),
      wall_s: round3(wallSeconds),
      wall_summaries_per_s: Math.round(total / wallSeconds),
      commit_turns: perMs.turns,
      messages_per_turn_mean: round1(msgs.n / perMs.turns),
      messages_per_turn_max: perMs.max,
      collector_cpu_percent: round1(cpuPercent),
      collector_cpu_s: round3((ticks1 - ticks0) / CLOCK_TICKS),
      collector_cpu_ms_per_summary: round3((10 * (ticks1 - ticks0)) / total),
      collector_rss_mb_at_start: round1(rssAtStartKb / 1024),
      collector_rss_mb_peak: round1(Math.max(rssMaxKb, hwmKb ?? 0) / 1024),
      simulator_cpu_percent: round1((100 * (simCpu.user + simCpu.system)) / 1e6 / wallSeconds),
      db_mb: round1(dbBytes / 1e6),
    },
    bytes: {
      features: { numeric: GEN.numericFeatures, categorical: GEN.categoricalFeatures + 1 },
      segments: made.segments,
      window_s: WINDOW_S,
      records_per_s: RATE,
      envelope_bytes_mean: Math.round(meanEnvelope),
      envelope_bytes_max: maxEnvelope,
      envelope_kib_max: kib(maxEnvelope),
      raw_log_bytes_mean: Math.round(mean(templates.map((t) => t.rawBytes))),
      raw_to_summary_min: worstRatio,
      per_template: perTemplate,
      profile_parts_of_largest: profileParts(biggest.profile),
      over_mark_bytes: Math.max(0, maxEnvelope - MARKS.summary_bytes_max),
    },
    stored: {
      ...stored,
      messages_rows: msgs.n,
      devices_rows: msgs.devices,
      summaries_rows: summaries,
      devices_with_wrong_seqs: badDevices,
      rejected_rows: rejections,
      duplicates_counter: duplicates,
      envelope_bytes_stored: msgs.bytes,
      every_message_once: exactlyOnce,
    },
    cpu_profile: cpuProfile,
    marks: {
      ingest_rate_ok: ingestRate >= MARKS.ingest_per_s_min,
      bytes_ok: maxEnvelope <= MARKS.summary_bytes_max,
      ratio_ok: worstRatio >= MARKS.raw_to_summary_min,
    },
    mark_values: MARKS,
  };
  console.log(JSON.stringify(result, null, 2));
  if (!args.keep) fs.rmSync(dir, { recursive: true, force: true });
  else process.stderr.write(`kept ${dir}\n`);
}

await main();
