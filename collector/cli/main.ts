// edgewatch-collector's command line. Exit codes: 0 ok, 2 bad config or usage, 1 runtime failure.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { BundleError } from '../../agent/wire/index.js';
import { CollectorConfigError, defaultCollectorConfig, loadCollectorConfig, type CollectorConfig } from '../config/index.js';
import { Ingest } from '../ingest/index.js';
import { createCollectorLogger } from '../log.js';
import { CollectorStore, type CollectorStatus } from '../store/index.js';

declare const __EW_VERSION__: string | undefined;

/** Set by the build (package.json version + commit); read from package.json when running from source. */
export const VERSION: string = typeof __EW_VERSION__ === 'string' ? __EW_VERSION__ : sourceVersion();

function sourceVersion(): string {
  try {
    return `${(createRequire(import.meta.url)('../../package.json') as { version: string }).version} (source)`;
  } catch {
    return 'unknown';
  }
}

const HELP = `edgewatch-collector ${VERSION}: the fleet side of edgewatch.

Usage:
  edgewatch-collector run [--config FILE]
      The MQTT broker (embedded, or a subscriber to mqtt.url), ingest and the HTTP API, until
      SIGTERM/SIGINT.
  edgewatch-collector status [--config FILE] [--json]
      Devices, summaries, duplicates absorbed, refusals by reason, and the gaps devices reported.
  edgewatch-collector import FILE [--config FILE]
      Import a bundle file (edgewatch-agent export): checked whole (SHA-256, HMAC) before anything
      is stored, then every message with the same (device, seq) dedupe as MQTT. Exit 1 when the
      bundle is refused or any message in it was.
  edgewatch-collector --version | --help

Without --config the embedded defaults apply (data in ./collector-data; see config/collector.yaml).
Exit codes: 0 ok, 2 bad configuration or usage, 1 runtime failure.`;

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const defaultIo: Io = {
  out: (s) => process.stdout.write(s + '\n'),
  err: (s) => process.stderr.write(s + '\n'),
};

class UsageError extends Error {}

export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (err) {
    if (err instanceof CollectorConfigError) {
      io.err(`edgewatch-collector: invalid configuration (${err.code})\n${err.message}`);
      return 2;
    }
    if (err instanceof UsageError) {
      io.err(`edgewatch-collector: ${err.message}`);
      return 2;
    }
    if (err instanceof BundleError) {
      io.err(`edgewatch-collector: bundle refused, nothing imported: ${err.message}`);
      return 1;
    }
    io.err(`edgewatch-collector: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
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
  switch (command) {
    case 'run': {
      // The network side lives in run.ts; loaded only when asked for, so status and import start fast.
      const { runCommand } = await import('./run.js');
      return runCommand(rest, io);
    }
    case 'status': {
      const { values } = parse(rest, { config: { type: 'string', short: 'c' }, json: { type: 'boolean' } }, false);
      return status(config(values.config), values.json === true, io);
    }
    case 'import': {
      const { values, positionals } = parse(rest, { config: { type: 'string', short: 'c' } }, true);
      if (positionals.length !== 1) throw new UsageError('import: expected one bundle FILE');
      return importCommand(config(values.config), positionals[0] ?? '', io);
    }
    default:
      throw new UsageError(`unknown command "${command}"; commands: run, status, import (see --help)`);
  }
}

type Values = Record<string, string | boolean | undefined>;

function parse(args: string[], options: NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']>, positionals: boolean) {
  try {
    const r = parseArgs({ args, options, strict: true, allowPositionals: positionals });
    return { values: r.values as Values, positionals: r.positionals };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function config(file: string | boolean | undefined): CollectorConfig {
  return typeof file === 'string' ? loadCollectorConfig(file) : defaultCollectorConfig();
}

function status(config: CollectorConfig, json: boolean, io: Io): number {
  const store = CollectorStore.open(config.data_dir);
  try {
    const s = store.status();
    io.out(json ? JSON.stringify(s) : formatStatus(s, store.file));
    return 0;
  } finally {
    store.close();
  }
}

export function formatStatus(s: CollectorStatus, file: string): string {
  const lines = [`store ${file}`, `devices     ${s.devices}`, `summaries   ${s.summaries}`, `duplicates  ${s.duplicates} (copies absorbed by the (device, seq) dedupe)`];
  const reasons = Object.entries(s.rejected);
  lines.push(`refused     ${reasons.length === 0 ? 0 : reasons.map(([r, n]) => `${r} ${n}`).join(', ')}`);
  if (s.gaps.length === 0) lines.push('gaps        none');
  else {
    lines.push(`gaps        ${s.gaps.length} (summaries a device dropped from a full outbox):`);
    for (const g of s.gaps) lines.push(`  ${g.device}: seq ${g.from_seq}-${g.to_seq}, ${g.records} records`);
  }
  return lines.join('\n');
}

function importCommand(config: CollectorConfig, file: string, io: Io): number {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    io.err(`edgewatch-collector: cannot read bundle ${file}: ${(err as Error).message}`);
    return 1;
  }
  const store = CollectorStore.open(config.data_dir);
  try {
    const ingest = new Ingest(store, { maxMessageBytes: config.mqtt.max_message_bytes, log: createCollectorLogger() });
    const r = ingest.importBundle(buf, { hmacKey: config.bundles.hmac_key, requireHmac: config.bundles.require_hmac });
    const refused = Object.entries(r.refusedBy).map(([reason, n]) => `${reason} ${n}`).join(', ');
    io.out(`imported ${file}: ${r.messages} messages, ${r.stored} stored, ${r.duplicates} duplicate, ${r.refused} refused${refused === '' ? '' : ` (${refused})`}`);
    return r.refused === 0 ? 0 : 1;
  } finally {
    store.close();
  }
}
