// edgewatch-agent's command line. Exit codes: 0 ok, 2 bad config or usage, 1 runtime failure.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadAgentConfig } from '../config/index.js';
import type { AgentConfig } from '../config/types.js';
import { AgentError } from '../errors.js';
import { createLogger, type Level } from '../log.js';
import { WindowProfile } from '../profile/index.js';
import { Agent, readStatus, runOnce, runUntilStopped } from '../runtime/index.js';
import { formatStatus } from '../runtime/status.js';
import { AgentStore } from '../store/index.js';
import { VERSION } from '../version.js';

const HELP = `edgewatch-agent ${VERSION}: watches ML models where they run.

Usage:
  edgewatch-agent run --config FILE [--once] [--log-level debug|info|warn|error]
      Follow the model's inference logs into window profiles in SQLite until SIGTERM/SIGINT.
      --once: ingest what the logs hold now, close every window, send the outbox (one sync
      session, unless sync.mode is manual), exit.
  edgewatch-agent status --config FILE [--json]
      Records accepted/rejected/late per model, windows, and every followed file's offset.
  edgewatch-agent windows --config FILE --model NAME [--json] [--from T] [--to T] [--rollups]
      Closed window profiles, one JSON object per line (T: RFC 3339 or epoch ms).
  edgewatch-agent baseline --config FILE --model NAME --from DATA [--version V]
      Profile reference data (the model's log format) into the baseline that closed windows are
      compared with (of version V, else of every version without its own).
  edgewatch-agent baseline --config FILE --model NAME --export OUT [--version V]
  edgewatch-agent baseline --config FILE --import IN
      Write / read a baseline as a versioned CBOR file, so one baseline serves a fleet.
  edgewatch-agent analyze --config FILE --model NAME --baseline REF --current CUR [--json] [--html OUT] [--fail-on-drift]
      Drift of CUR against REF (files in the model's log format), no daemon, no database.
      --html OUT: also write one self-contained page (histograms and the table; nothing fetched).
      --fail-on-drift: exit 3 when the data, the predictions, the labels or the concept drifted.
  edgewatch-agent compare --config FILE --model NAME [--by version|segment] [--from T] [--to T]
                  [--reference V] [--version V] [--json]
      Closed windows side by side: one column per version (records, errors, latency, prediction,
      quality, drift against its baseline and against the reference version, default the version
      with the most records) or per segment value (--by segment; --version V: that version only).
      Default range: the 24 h before --to, else before the newest closed window's end.
  edgewatch-agent alerts --config FILE [--json] [--since T]
      Active alerts (pending, firing), then those resolved since T (default: the last 24 h).
  edgewatch-agent export --config FILE --out BUNDLE [--mark-sent]
      Every message waiting in the outbox into one bundle file (checksummed, signed with
      sync.hmac_key when set) for edgewatch-collector import. --mark-sent: remove them from the
      outbox once the file is safely written (else they also go over MQTT; duplicates are harmless).
  edgewatch-agent --version | --help

Exit codes: 0 ok, 2 bad configuration or usage, 1 runtime failure, 3 drift found (analyze --fail-on-drift).
Docs: README.md (configuration, record format), docs/errors.md (EW_ERR_* codes).`;

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const defaultIo: Io = {
  out: (s) => process.stdout.write(s + '\n'),
  err: (s) => process.stderr.write(s + '\n'),
};

export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(`edgewatch-agent: invalid configuration (${err.code})\n${err.message}`);
      return 2;
    }
    if (err instanceof AgentError) {
      io.err(`edgewatch-agent: ${err.message} (${err.code})`);
      return err.exitCode;
    }
    io.err(`edgewatch-agent: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 1;
  }
}

async function dispatch(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.out(HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === '-v') {
    io.out(VERSION);
    return 0;
  }
  const opts = parse(rest, {
    config: { type: 'string', short: 'c' },
    once: { type: 'boolean' },
    json: { type: 'boolean' },
    model: { type: 'string', short: 'm' },
    from: { type: 'string' },
    to: { type: 'string' },
    rollups: { type: 'boolean' },
    baseline: { type: 'string' },
    current: { type: 'string' },
    'fail-on-drift': { type: 'boolean' },
    html: { type: 'string' },
    version: { type: 'string' },
    export: { type: 'string' },
    import: { type: 'string' },
    'log-level': { type: 'string' },
    by: { type: 'string' },
    reference: { type: 'string' },
    since: { type: 'string' },
    out: { type: 'string', short: 'o' },
    'mark-sent': { type: 'boolean' },
  });
  const configPath = opts.config;
  if (typeof configPath !== 'string') throw new AgentError('EW_ERR_USAGE', `${command}: --config FILE is required`);
  switch (command) {
    case 'run':
      return run(loadAgentConfig(configPath), opts.once === true, logLevel(opts['log-level']), io);
    case 'status':
      return status(loadAgentConfig(configPath), opts.json === true, io);
    case 'windows':
      return windows(loadAgentConfig(configPath), opts, io);
    case 'analyze':
      return analyzeCommand(loadAgentConfig(configPath), opts, io);
    case 'baseline':
      return baselineCommand(loadAgentConfig(configPath), opts, io);
    case 'compare':
      return compareCommand(loadAgentConfig(configPath), opts, io);
    case 'export':
      return exportCommand(loadAgentConfig(configPath), opts, io);
    case 'alerts': {
      const { alertsCommand } = await import('./alerts.js');
      return alertsCommand(loadAgentConfig(configPath), { json: opts.json === true, since: time(opts.since, '--since') }, io.out);
    }
    default:
      throw new AgentError('EW_ERR_USAGE', `unknown command "${command}"; commands: run, status, windows, baseline, analyze, compare, alerts, export (see --help)`);
  }
}

type Parsed = Record<string, string | boolean | undefined>;

async function exportCommand(config: AgentConfig, opts: Parsed, io: Io): Promise<number> {
  const out = opts.out;
  if (typeof out !== 'string') throw new AgentError('EW_ERR_USAGE', 'export: --out FILE is required');
  const { exportBundle } = await import('./export.js');
  const r = exportBundle(config, out, { markSent: opts['mark-sent'] === true });
  io.out(
    opts.json === true
      ? JSON.stringify(r)
      : `wrote ${r.messages} messages (seq ${r.from_seq ?? '-'}..${r.to_seq ?? '-'}, ${r.bytes} bytes${r.signed ? ', signed' : ''}) to ${r.file}` +
          (opts['mark-sent'] === true ? `; ${r.marked_sent} marked sent` : '; still in the outbox (no --mark-sent)'),
  );
  return 0;
}

function parse(args: string[], options: NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']>): Parsed {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values as Parsed;
  } catch (err) {
    throw new AgentError('EW_ERR_USAGE', (err as Error).message);
  }
}

function logLevel(v: string | boolean | undefined): Level {
  if (v === undefined) return 'info';
  if (v === 'debug' || v === 'info' || v === 'warn' || v === 'error') return v;
  throw new AgentError('EW_ERR_USAGE', `--log-level: got "${String(v)}", expected debug, info, warn or error`);
}

async function run(config: AgentConfig, once: boolean, level: Level, io: Io): Promise<number> {
  const log = createLogger({ level });
  const agent = Agent.open(config, { log });
  if (once) {
    const synced = await runOnce(agent);
    if (synced !== null) log.log('info', 'synced', { sent: synced.sent, left_in_outbox: synced.left });
    const store = AgentStore.openForReading(config.data_dir);
    try {
      io.out(formatStatus(readStatus(config, store)));
    } finally {
      store.close();
    }
    return 0;
  }
  const stop = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    log.log('info', 'stopping', { signal: sig });
    stop.abort();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  log.log('info', 'agent started', { device: config.device.id, models: config.models.map((m) => m.name), data_dir: config.data_dir });
  await runUntilStopped(agent, { signal: stop.signal });
  log.log('info', 'agent stopped');
  return 0;
}

function status(config: AgentConfig, json: boolean, io: Io): number {
  const store = AgentStore.openForReading(config.data_dir);
  try {
    const s = readStatus(config, store);
    io.out(json ? JSON.stringify(s) : formatStatus(s));
    return 0;
  } finally {
    store.close();
  }
}

function windows(config: AgentConfig, opts: Parsed, io: Io): number {
  const model = opts.model;
  if (typeof model !== 'string') throw new AgentError('EW_ERR_USAGE', 'windows: --model NAME is required');
  if (!config.models.some((m) => m.name === model)) {
    throw new AgentError('EW_ERR_UNKNOWN_MODEL', `windows: no model "${model}" in the configuration (models: ${config.models.map((m) => m.name).join(', ')})`);
  }
  const store = AgentStore.openForReading(config.data_dir);
  try {
    const range = { from: time(opts.from, '--from'), to: time(opts.to, '--to') };
    const rows = opts.rollups === true ? store.rollups(model) : store.closedWindows(model, range);
    for (const w of rows) {
      const p = WindowProfile.decode(w.profile);
      const drift = w.drift === null ? null : (JSON.parse(w.drift) as unknown);
      io.out(opts.json === true ? JSON.stringify({ ...p.toJSON(), drift }) : summaryLine(p, drift));
    }
    return 0;
  } finally {
    store.close();
  }
}

async function baselineCommand(config: AgentConfig, opts: Parsed, io: Io): Promise<number> {
  const str = (flag: string): string | undefined => (typeof opts[flag] === 'string' ? (opts[flag] as string) : undefined);
  const model = str('model');
  const version = str('version');
  const from = str('from');
  const out = str('export');
  const inFile = str('import');
  if ([from, out, inFile].filter((x) => x !== undefined).length !== 1) {
    throw new AgentError('EW_ERR_USAGE', 'baseline: give exactly one of --from DATA, --export OUT, --import IN');
  }
  const { baselineFromFile, exportBaseline, importBaseline } = await import('./baseline.js');
  if (inFile !== undefined) {
    io.out(importBaseline(config, { from: inFile }));
    return 0;
  }
  if (model === undefined) throw new AgentError('EW_ERR_USAGE', 'baseline: --model NAME is required');
  if (out !== undefined) io.out(exportBaseline(config, { model, out, ...(version ? { version } : {}) }));
  else if (from !== undefined) {
    const tty = process.stderr.isTTY === true;
    // A terminal gets one redrawn bar; a log (systemd, CI) gets plain lines through the usual sink.
    const progress = { tty, write: tty ? (s: string) => void process.stderr.write(s) : (s: string) => io.err(s.replace(/\n$/, '')) };
    io.out(baselineFromFile(config, { model, from, ...(version ? { version } : {}) }, progress));
  }
  return 0;
}

async function analyzeCommand(config: AgentConfig, opts: Parsed, io: Io): Promise<number> {
  const need = (flag: 'model' | 'baseline' | 'current'): string => {
    const v = opts[flag];
    if (typeof v !== 'string') throw new AgentError('EW_ERR_USAGE', `analyze: --${flag} is required`);
    return v;
  };
  const { analyze, driftFound, DRIFT_EXIT_CODE, formatReport } = await import('./analyze.js');
  const { report, base, cur } = analyze(config, { model: need('model'), baseline: need('baseline'), current: need('current') });
  const html = opts['html'];
  if (typeof html === 'string') {
    const title = `edgewatch drift: ${path.basename(need('current'))} against ${path.basename(need('baseline'))} (model ${need('model')})`;
    const { renderReportHtml } = await import('./report-html.js');
    fs.writeFileSync(html, renderReportHtml(report, base, cur, title));
  }
  io.out(opts.json === true ? JSON.stringify(report) : formatReport(report));
  return opts['fail-on-drift'] === true && driftFound(report) ? DRIFT_EXIT_CODE : 0;
}

async function compareCommand(config: AgentConfig, opts: Parsed, io: Io): Promise<number> {
  const str = (flag: string): string | undefined => (typeof opts[flag] === 'string' ? (opts[flag] as string) : undefined);
  const model = str('model');
  if (model === undefined) throw new AgentError('EW_ERR_USAGE', 'compare: --model NAME is required');
  const from = time(opts.from, '--from');
  const to = time(opts.to, '--to');
  const reference = str('reference');
  const version = str('version');
  const { compare, formatComparison, parseBy } = await import('./compare.js');
  const report = compare(config, {
    model,
    by: parseBy(str('by')),
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
    ...(reference === undefined ? {} : { reference }),
    ...(version === undefined ? {} : { version }),
  });
  io.out(opts.json === true ? JSON.stringify(report) : formatComparison(report));
  return 0;
}

function summaryLine(p: WindowProfile, drift: unknown): string {
  const d = drift as { dataset?: { drift: boolean; share: number } } | null;
  const driftText = d?.dataset ? `  drift ${d.dataset.drift ? 'YES' : 'no'} (share ${d.dataset.share.toFixed(2)})` : '';
  return `${new Date(p.start).toISOString()}  ${p.modelVersion}  records ${p.count}  rejected ${p.rejected}  late ${p.late}${driftText}`;
}

function time(v: string | boolean | undefined, flag: string): number | undefined {
  if (v === undefined || typeof v === 'boolean') return undefined;
  const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(n)) throw new AgentError('EW_ERR_USAGE', `${flag}: got "${v}", expected RFC 3339 time or epoch ms`);
  return n;
}
