// `edgewatch-agent baseline`: profile reference data into a baseline stored in the agent's database,
// or export / import a baseline as a versioned CBOR file so one baseline serves a fleet.
import fs from 'node:fs';
import path from 'node:path';
import type { AgentConfig, ModelConfig } from '../config/types.js';
import { AgentError } from '../errors.js';
import { BaselineFileError, decodeBaselineFile, encodeBaselineFile } from '../wire/baseline-file.js';
import { binEdgesFor } from '../drift/index.js';
import { FeatureTypes } from '../records/index.js';
import { profileFile } from '../runtime/profile-file.js';
import { ALL_VERSIONS, AgentStore, type StoredBaseline } from '../store/index.js';

export { BASELINE_FILE_VERSION } from '../wire/baseline-file.js';

export interface ProgressSink {
  /** True when the progress goes to a terminal: redraw one line instead of printing many. */
  tty: boolean;
  write(s: string): void;
}

function modelOf(config: AgentConfig, name: string): ModelConfig {
  const m = config.models.find((x) => x.name === name);
  if (!m) throw new AgentError('EW_ERR_UNKNOWN_MODEL', `baseline: no model "${name}" in the configuration (models: ${config.models.map((x) => x.name).join(', ')})`);
  return m;
}

/** Progress on a terminal as one redrawn bar; elsewhere a plain line every 10%. */
function progressReporter(sink: ProgressSink, label: string): (bytes: number, total: number) => void {
  let lastTenth = -1;
  return (bytes, total) => {
    const share = total > 0 ? Math.min(1, bytes / total) : 1;
    if (sink.tty) {
      const width = 30;
      const done = Math.round(share * width);
      sink.write(`\r${label} [${'#'.repeat(done)}${'.'.repeat(width - done)}] ${(share * 100).toFixed(0).padStart(3)}%`);
      if (share === 1) sink.write('\n');
    } else {
      const tenth = Math.floor(share * 10);
      if (tenth > lastTenth) {
        lastTenth = tenth;
        sink.write(`${label}: ${tenth * 10}% (${bytes} of ${total} bytes)\n`);
      }
    }
  };
}

/**
 * Builds a baseline from a file and stores it; returns a one-line summary. Two passes: the first
 * finds the deciles, the second profiles again counting exactly on them, so PSI against this
 * baseline is exact on its side (the second pass's digest, hence its deciles, equal the first's).
 */
export function baselineFromFile(config: AgentConfig, opts: { model: string; from: string; version?: string }, progress: ProgressSink): string {
  const model = modelOf(config, opts.model);
  const types = new FeatureTypes(model.features, model.infer_features);
  const version = opts.version ?? ALL_VERSIONS;
  const label = path.basename(opts.from);
  const first = profileFile(opts.from, model, types, version, progressReporter(progress, `${label} (pass 1 of 2)`));
  const edges = binEdgesFor(first.profile);
  const { profile, lines } = profileFile(opts.from, model, types, version, progressReporter(progress, `${label} (pass 2 of 2)`), edges);
  if (profile.count === 0) {
    throw new AgentError('EW_ERR_USAGE', `baseline: ${opts.from} holds no usable record (${lines} lines, ${profile.rejected} rejected)`);
  }
  const store = AgentStore.openShared(config.data_dir);
  try {
    store.baselines.put({
      model: model.name,
      modelVersion: version,
      source: path.resolve(opts.from),
      createdAt: Date.now(),
      records: profile.count,
      profile: profile.encode(),
      complete: true,
      firstTs: null,
    });
  } finally {
    store.close();
  }
  return `baseline of ${model.name} (${version === ALL_VERSIONS ? 'all versions' : `version ${version}`}): ${profile.count} records, ${profile.rejected} rejected, ${profile.featureNames().length} features, from ${opts.from}`;
}

export function exportBaseline(config: AgentConfig, opts: { model: string; out: string; version?: string }): string {
  const model = modelOf(config, opts.model);
  const store = AgentStore.openForReading(config.data_dir);
  let b: StoredBaseline | null;
  try {
    b = store.baselines.get(model.name, opts.version ?? ALL_VERSIONS);
  } finally {
    store.close();
  }
  if (!b) throw new AgentError('EW_ERR_USAGE', `baseline --export: model ${model.name} has no baseline${opts.version ? ` for version ${opts.version}` : ''}`);
  const tmp = `${opts.out}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, encodeBaselineFile({ model: b.model, model_version: b.modelVersion, source: b.source, created_at: b.createdAt, records: b.records, profile: b.profile }));
  fs.renameSync(tmp, opts.out);
  return `exported the baseline of ${b.model} (${b.modelVersion === ALL_VERSIONS ? 'all versions' : `version ${b.modelVersion}`}, ${b.records} records) to ${opts.out}`;
}

/** Reads and checks a baseline file; every problem is an EW_ERR_USAGE naming the file and what is wrong. */
export function readBaselineFile(file: string): StoredBaseline {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new AgentError('EW_ERR_USAGE', `baseline --import: ${file} cannot be read: ${(err as Error).message}`);
  }
  try {
    const { file: b } = decodeBaselineFile(bytes);
    return { model: b.model, modelVersion: b.model_version, source: b.source, createdAt: b.created_at, records: b.records, profile: b.profile, complete: true, firstTs: null };
  } catch (err) {
    if (err instanceof BaselineFileError) throw new AgentError('EW_ERR_USAGE', `baseline --import: ${file} ${err.why}`);
    throw err;
  }
}

export function importBaseline(config: AgentConfig, opts: { from: string }): string {
  const b = readBaselineFile(opts.from);
  modelOf(config, b.model);
  const store = AgentStore.openShared(config.data_dir);
  try {
    store.baselines.put({ ...b, source: `${b.source} (imported from ${path.resolve(opts.from)})` });
  } finally {
    store.close();
  }
  return `imported the baseline of ${b.model} (${b.modelVersion === ALL_VERSIONS ? 'all versions' : `version ${b.modelVersion}`}, ${b.records} records) from ${opts.from}`;
}
