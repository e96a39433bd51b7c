import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FAMILIES, escapeLabelValue, formatValue, mapSystemReading, renderMetrics, type MetricsSnapshot } from '../../agent/metrics/index.js';
import { parseExposition, sampleOf } from './parse-exposition.js';
import { NOW, modelSnapshot, realisticSnapshot, systemReadings } from './snapshot-fixture.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

const empty: MetricsSnapshot = {
  device: { id: 'd', site: 's' },
  version: '0.1.0',
  models: [],
  system: null,
  samplerFailures: new Map(),
  alerts: [],
};

function render(s: MetricsSnapshot = realisticSnapshot()) {
  const text = renderMetrics(s, NOW);
  return { text, families: parseExposition(text) };
}

describe('renderMetrics', () => {
  it('writes every family once, HELP then TYPE then its samples, and no series twice', () => {
    const { text, families } = render();
    // parseExposition refuses a split family, a sample outside its block and a repeated series.
    expect(families.size).toBeGreaterThan(50);
    for (const [name, f] of families) {
      expect(f.help, name).not.toBe('');
      expect(f.samples.length, name).toBeGreaterThan(0);
    }
    expect(text.endsWith('\n')).toBe(true);
  });

  it('the realistic snapshot reaches every family in the catalogue', () => {
    const { families } = render();
    const missing = FAMILIES.map((f) => f.name).filter((n) => !families.has(n));
    expect(missing).toEqual([]);
  });

  it('counters, and only counters, end in _total; names are edgewatch_ and snake_case', () => {
    const { families } = render();
    for (const [name, f] of families) {
      expect(name).toMatch(/^edgewatch_[a-z0-9_]+$/);
      expect(name.endsWith('_total'), name).toBe(f.type === 'counter');
      expect(['counter', 'gauge']).toContain(f.type);
    }
    for (const f of FAMILIES) expect(f.name.endsWith('_total'), f.name).toBe(f.type === 'counter');
  });

  it('escapes backslash, double quote and newline in label values', () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    expect(escapeLabelValue('plain')).toBe('plain');
    const s = realisticSnapshot({ models: 1, features: 2 });
    s.models[0]!.model = 'we"ird\\model\nname';
    const { text, families } = render(s);
    expect(text).toContain('edgewatch_records_accepted_total{model="we\\"ird\\\\model\\nname"} 1234567\n');
    expect(sampleOf(families, 'edgewatch_records_accepted_total').labels['model']).toBe('we"ird\\model\nname');
    expect(sampleOf(families, 'edgewatch_agent_info').labels['site']).toBe('plant "north"\\line\n2');
  });

  it('converts to base units: seconds, bytes, ratios, hertz', () => {
    const { families } = render();
    const v = (family: string, labels: Record<string, string> = {}) => sampleOf(families, family, labels).value;
    expect(v('edgewatch_system_cpu_usage_ratio')).toBe(0.375);
    expect(v('edgewatch_system_cpu_usage_ratio', { core: '3' })).toBe(0.25);
    expect(v('edgewatch_system_memory_available_bytes')).toBe(5_500_000_000);
    expect(v('edgewatch_system_memory_used_ratio')).toBe(0.3125);
    expect(v('edgewatch_system_gpu_temperature_celsius', { gpu: '0' })).toBe(61);
    expect(v('edgewatch_system_gpu_power_watts', { gpu: '0' })).toBe(71.3);
    expect(v('edgewatch_system_gpu_clock_hertz', { gpu: '0', clock: 'sm' })).toBe(1_410_000_000);
    expect(v('edgewatch_system_gpu_memory_total_bytes', { gpu: '0' })).toBe(16384 * 1024 * 1024);
    expect(v('edgewatch_system_disk_used_bytes', { disk: 'data' })).toBe(12e9);
    expect(v('edgewatch_system_disk_write_bytes_per_second', { device: 'mmcblk0' })).toBe(81920);
    expect(v('edgewatch_system_network_receive_bytes_per_second', { interface: 'eth0' })).toBe(1250.5);
    expect(v('edgewatch_system_temperature_celsius', { sensor: 'coretemp.Core_0' })).toBe(50);
    expect(v('edgewatch_system_load_average', { period: '5m' })).toBe(0.4);
    expect(v('edgewatch_system_tegra_cpu_clock_hertz', { core: '2' })).toBe(1_479_000_000);
    expect(v('edgewatch_system_tegra_power_watts', { rail: 'vdd_in' })).toBe(5.1);
    expect(v('edgewatch_process_up', { process: 'triton' })).toBe(1);
    expect(v('edgewatch_process_up', { process: 'worker-2' })).toBe(0);
    expect(v('edgewatch_process_cpu_usage_ratio', { process: 'triton' })).toBe(1.125);
    expect(v('edgewatch_process_restarts_total', { process: 'triton' })).toBe(1);
    expect(v('edgewatch_container_cpu_usage_ratio', { container: 'inference' })).toBe(0.85);
    expect(v('edgewatch_agent_resident_memory_bytes')).toBe(81_000_000);
    expect(v('edgewatch_agent_cpu_usage_ratio')).toBe(0.025);
    expect(v('edgewatch_agent_slowest_commit_seconds')).toBe(0.012);
    expect(v('edgewatch_agent_errors_total', { stage: 'tail', code: 'EW_ERR_READ' })).toBe(3);
    expect(v('edgewatch_system_sample_timestamp_seconds')).toBe((NOW - 2000) / 1000);
    expect(v('edgewatch_system_source_failures_total', { source: 'gpu', cause: 'missing' })).toBe(12);
  });

  it('model, window, drift and alert families', () => {
    const { families } = render();
    const v = (family: string, labels: Record<string, string> = {}) => sampleOf(families, family, labels).value;
    const m0 = { model: 'model-0' };
    const w = { model: 'model-0', version: 'v1' };
    expect(v('edgewatch_records_accepted_total', m0)).toBe(1_234_567);
    expect(v('edgewatch_records_rejected_total', { ...m0, reason: 'unparseable' })).toBe(30);
    expect(v('edgewatch_records_rejected_total', { ...m0, reason: 'too_long' })).toBe(0);
    expect(v('edgewatch_records_late_total', m0)).toBe(3);
    expect(v('edgewatch_watermark_timestamp_seconds', m0)).toBe((NOW - 5000) / 1000);
    expect(v('edgewatch_log_silence_seconds', m0)).toBe(1.5);
    expect(v('edgewatch_window_records', w)).toBe(600);
    expect(v('edgewatch_window_latency_seconds', { ...w, percentile: '95' })).toBe(0.04);
    expect(v('edgewatch_window_latency_seconds', { ...w, percentile: '99' })).toBe(0.09525);
    // A null statistic is no sample, not 0.
    expect(() => v('edgewatch_window_latency_seconds', { model: 'model-0', version: 'v2', percentile: '99' })).toThrow(/0 samples/);
    expect(v('edgewatch_drift_share_ratio', w)).toBe(11 / 50); // f0 f7 f21 f28 f35 f42 (numeric), f9 f19 f29 f39 f49
    expect(v('edgewatch_drift_dataset', w)).toBe(0);
    expect(v('edgewatch_feature_drift', { ...w, feature: 'f7' })).toBe(1);
    expect(v('edgewatch_feature_ks_p_value', { ...w, feature: 'f3' })).toBeCloseTo(3e-6, 15);
    expect(v('edgewatch_feature_chi2_p_value', { ...w, feature: 'f4' })).toBeCloseTo(0.104, 12);
    expect(() => v('edgewatch_feature_ks_statistic', { ...w, feature: 'f4' })).toThrow(/0 samples/);
    expect(v('edgewatch_output_psi', { ...w, output: 'prediction' })).toBeCloseTo(0.04, 12);
    expect(v('edgewatch_accuracy_ratio', w)).toBe(0.85);
    expect(v('edgewatch_estimated_accuracy_ratio', w)).toBe(0.87);
    expect(v('edgewatch_concept_drift', w)).toBe(1);
    expect(v('edgewatch_mae', { model: 'model-1', version: 'v1' })).toBe(1.5);
    expect(() => v('edgewatch_concept_drift', { model: 'model-1', version: 'v1' })).toThrow(/0 samples/);
    expect(v('edgewatch_labels_pending', { ...m0, side: 'prediction' })).toBe(50);
    expect(v('edgewatch_labels_expired_total', { ...m0, side: 'label' })).toBe(1);
    expect(v('edgewatch_alert_active', { rule: 'latency_p95', model: 'model-0', version: 'v1', severity: 'warning', state: 'firing' })).toBe(1);
    expect(v('edgewatch_alert_value', { rule: 'drift', model: 'model-1', version: 'v2' })).toBe(0.6);
    expect(v('edgewatch_agent_info', { version: '0.1.0', device: 'jetson-07' })).toBe(1);
  });

  it('an unknown system reading falls back to edgewatch_system_reading under its own name', () => {
    const { families } = render();
    expect(sampleOf(families, 'edgewatch_system_reading', { metric: 'mystery.widget.level' }).value).toBe(7);
    expect(mapSystemReading('something.new').family.name).toBe('edgewatch_system_reading');
  });

  it('maps every reading form agent/system produces to a family of its own', () => {
    const known = [...systemReadings().keys()].filter((n) => !n.startsWith('mystery.'));
    const fallback = known.filter((n) => mapSystemReading(n).family.name === 'edgewatch_system_reading');
    expect(fallback).toEqual([]);
  });

  it('adds up rejected reasons to the total and keeps unknown reasons', () => {
    const m = modelSnapshot('m', 1, 'regression');
    m.rejected = 50;
    m.rejectedByReason = { unparseable: 30, schema_v2: 5 };
    const { families } = render({ ...empty, models: [m] });
    const rejected = families.get('edgewatch_records_rejected_total')!.samples;
    expect(rejected.reduce((a, s) => a + s.value, 0)).toBe(50);
    expect(sampleOf(families, 'edgewatch_records_rejected_total', { model: 'm', reason: 'schema_v2' }).value).toBe(5);
    expect(sampleOf(families, 'edgewatch_records_rejected_total', { model: 'm', reason: 'unspecified' }).value).toBe(15);
  });

  it('writes no series twice even when the snapshot repeats a model, window, alert or failure', () => {
    const m = modelSnapshot('dup', 3, 'classification');
    m.lastWindows.push({ ...m.lastWindows[0]! });
    m.rejected = 100;
    m.rejectedByReason = { unspecified: 10, unparseable: 30 };
    const alert = { rule: 'r', model: 'dup', model_version: 'v1', state: 'firing', severity: 'warning', value: 1 } as const;
    const s: MetricsSnapshot = {
      ...empty,
      models: [m, modelSnapshot('dup', 3, 'classification')],
      alerts: [alert, { ...alert, state: 'pending' }],
      samplerFailures: new Map([['gpu', 1], ['gpu:unknown', 2], ['gpu:', 3], ['gpu:missing', 4]]),
      system: { at: NOW, readings: systemReadings() },
    };
    const { families } = render(s); // parseExposition throws on a repeated series
    expect(families.get('edgewatch_records_accepted_total')!.samples).toHaveLength(1);
    expect(sampleOf(families, 'edgewatch_records_rejected_total', { model: 'dup', reason: 'unspecified' }).value).toBe(70);
    expect(families.get('edgewatch_alert_active')!.samples).toHaveLength(1);
    expect(sampleOf(families, 'edgewatch_system_source_failures_total', { source: 'gpu', cause: 'unknown' }).value).toBe(6);
  });

  it('writes NaN and infinities as Prometheus spells them', () => {
    expect(formatValue(NaN)).toBe('NaN');
    expect(formatValue(Infinity)).toBe('+Inf');
    expect(formatValue(-Infinity)).toBe('-Inf');
    expect(formatValue(1e21)).toBe('1e+21');
    const { text } = render({ ...empty, system: { at: NOW, readings: new Map([['cpu.total', NaN], ['gpu.0.power', Infinity]]) } });
    expect(text).toContain('edgewatch_system_cpu_usage_ratio NaN\n');
    expect(text).toContain('edgewatch_system_gpu_power_watts{gpu="0"} +Inf\n');
  });

  it('an empty snapshot is just the info metric', () => {
    const { families } = render(empty);
    expect([...families.keys()]).toEqual(['edgewatch_agent_info']);
  });

  it('docs/metrics.md lists every family with its type and labels, and no other', () => {
    const doc = readFileSync(join(ROOT, 'docs/metrics.md'), 'utf8');
    const rows = new Map<string, string>();
    for (const m of doc.matchAll(/^\| `(edgewatch_[a-z0-9_]+)` \| (counter|gauge) \| ([^|]*) \|/gm)) rows.set(m[1]!, `${m[2]} ${m[3]!.trim()}`);
    const expected = new Map(FAMILIES.map((f) => [f.name, `${f.type} ${f.labels.map((l) => `\`${l}\``).join(', ')}`]));
    expect(Object.fromEntries(rows)).toEqual(Object.fromEntries(expected));
  });
});
