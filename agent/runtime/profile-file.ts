// Profiles a whole log file (JSONL or CSV, the model's mapping) into one profile, ignoring windows:
// the reference and current sides of `analyze`, and later baselines built from a file.
import fs from 'node:fs';
import type { ModelConfig } from '../config/types.js';
import { AgentError } from '../errors.js';
import { WindowProfile, type ProfileBinEdges } from '../profile/index.js';
import { FeatureTypes, createLineParser } from '../records/index.js';
import { LineReader, Scratch } from '../tail/line-reader.js';

export interface FileProfile {
  profile: WindowProfile;
  lines: number;
  bytes: number;
  /** Delayed labels (labels.delayed): joined to a prediction in the file, or left without one. */
  labels: { joined: number; unmatched: number };
}

/**
 * Reads `file` to its end. `types` is shared between the sides of a comparison so that a feature
 * has one type on both. Rejected lines are counted in the profile as the agent counts them. With
 * labels.delayed, label lines join their prediction anywhere in the file (up to max_pending waiting).
 * `binEdges` (drift's binEdgesFor(baseline)) makes numeric summaries count exactly on those bins.
 */
export function profileFile(
  file: string,
  model: ModelConfig,
  types: FeatureTypes,
  version = 'file',
  onProgress?: (bytes: number, total: number) => void,
  binEdges: ProfileBinEdges = {},
): FileProfile {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw new AgentError('EW_ERR_USAGE', `cannot read ${file}: ${(err as Error).message}`);
  }
  const profile = new WindowProfile(
    { model: model.name, modelVersion: version, start: 0, end: 0 },
    { task: model.task, categoricalCap: model.categorical_cap, segmentCap: model.segment_cap, segmentPaths: model.segments, ...binEdges },
  );
  const parser = createLineParser(model, types);
  const reader = new LineReader(fd, 0, model.max_line_bytes, new Scratch(1 << 20));
  const total = fs.fstatSync(fd).size;
  let lines = 0;
  const readTime = Date.now();
  const waitingPredictions = new Map<string, { prediction: string | number; confidence: number | null; segments: Record<string, string> }>();
  const waitingLabels = new Map<string, string | number>();
  const labels = { joined: 0, unmatched: 0 };
  const room = () => waitingPredictions.size + waitingLabels.size < model.labels.max_pending;
  const line = (text: string, start: number) => {
    if (text.trim() === '') return;
    if (start === 0 && parser.needsHeader) return parser.setHeader(text);
    lines++;
    const r = parser.parse(text, readTime);
    if (!r.ok) return profile.addRejection(r.rejection);
    const rec = r.record;
    if (rec === null) {
      const id = r.label.requestId;
      const p = waitingPredictions.get(id);
      if (p) {
        waitingPredictions.delete(id);
        profile.addLabel(r.label.label, p.prediction, p.confidence, p.segments);
        labels.joined++;
      } else if (room() && !waitingLabels.has(id)) waitingLabels.set(id, r.label.label);
      else labels.unmatched++;
      return;
    }
    if (rec.label === null && rec.requestId !== null && model.labels.delayed) {
      const l = waitingLabels.get(rec.requestId);
      if (l !== undefined) {
        waitingLabels.delete(rec.requestId);
        rec.label = l;
        labels.joined++;
      } else if (room()) waitingPredictions.set(rec.requestId, { prediction: rec.prediction, confidence: rec.confidence, segments: rec.segments });
    }
    profile.add(rec);
  };
  try {
    while (
      reader.readChunk({
        line,
        tooLong: (_start, bytes) => {
          lines++;
          profile.addRejection({ reason: 'too_long', detail: `line of ${bytes} bytes is over max_line_size`, example: '', ts: null });
        },
      }) > 0
    ) {
      onProgress?.(reader.position, total);
    }
    const start = reader.offset;
    const last = reader.takePartial();
    if (last !== null) line(last, start);
  } finally {
    fs.closeSync(fd);
  }
  labels.unmatched += waitingLabels.size;
  return { profile, lines, bytes: reader.offset, labels };
}
