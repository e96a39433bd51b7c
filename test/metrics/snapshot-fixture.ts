// A realistic MetricsSnapshot for the exposition tests, promtool, the Prometheus scrape and the
// render benchmark: every reading form agent/system produces, drift reports with numeric and
// categorical features, both task kinds, alerts and sampler failures.
import type { DriftReport, FeatureDrift } from '../../agent/drift/index.js';
import type { MetricsSnapshot, ModelSnapshot } from '../../agent/metrics/snapshot.js';

export const NOW = Date.UTC(2025, 5, 1, 12, 0, 0);

function feature(i: number): FeatureDrift {
  if (i % 5 === 4) {
    return {
      type: 'categorical', count_ref: 5000, count_cur: 600, psi: 0.01 * i, chi2: { statistic: 3.2 + i, dof: 4, p_value: 0.52 / (i + 1) },
      js: 0.011 * i, new_categories: [], method: 'chi2', drift: i % 10 === 9,
    };
  }
  return {
    type: 'numeric', count_ref: 5000, count_cur: 600, psi: 0.02 * i, ks: { statistic: 0.03 + i / 1000, p_value: i === 0 ? 1 : 1e-6 * i },
    wasserstein: 0.04 + i / 100, js: 0.02, method: 'ks', drift: i % 7 === 0,
  };
}

export function driftReport(features: number, task: 'classification' | 'regression'): DriftReport {
  const all = Object.fromEntries(Array.from({ length: features }, (_, i) => [`f${i}`, feature(i)]));
  const drifted = Object.entries(all).filter(([, d]) => d.drift).map(([n]) => n);
  const quality = task === 'classification'
    ? {
        baseline: { task, labelled: 400, accuracy: 0.91, classes: {}, macro: { precision: 0.9, recall: 0.89, f1: 0.895 } } as const,
        current: { task, labelled: 120, accuracy: 0.85, classes: {}, macro: { precision: 0.84, recall: 0.83, f1: 0.835 } } as const,
        concept: { metric: 'accuracy', baseline: 0.91, current: 0.85, change: -0.06, drift: true } as const,
        estimated: { method: 'calibrated', calibration_records: 400, current: 0.87, baseline: 0.91, drop: 0.04, drift: false } as const,
      }
    : {
        baseline: { task, labelled: 400, mae: 1.2, mse: 2.5, rmse: 1.58, mape: 0.1 } as const,
        current: { task, labelled: 10, mae: 1.5, mse: 3.1, rmse: 1.76, mape: 0.12 } as const,
        concept: { metric: 'mae', baseline: 1.2, current: 1.5, change: 0.25, drift: null } as const,
        estimated: null,
      };
  return {
    dataset: { drift: drifted.length * 2 >= features, share: drifted.length / Math.max(1, features), drifted },
    features: all,
    skipped: {},
    prediction: feature(4),
    prediction_drift_features: [],
    label: task === 'classification' ? feature(9) : feature(1),
    quality,
  };
}

export function modelSnapshot(name: string, features: number, task: 'classification' | 'regression'): ModelSnapshot {
  return {
    model: name,
    accepted: 1_234_567,
    rejected: 42,
    late: 3,
    rejectedByReason: { unparseable: 30, missing_field: 12 },
    watermark: NOW - 5_000,
    lastRecordAt: NOW - 1_500,
    windowsOpen: 2,
    labels: task === 'classification'
      ? { joined: 900, pending_predictions: 50, pending_labels: 2, expired_predictions: 7, expired_labels: 1, overflow: 0 }
      : null,
    lastWindows: ['v1', 'v2'].map((version, i) => ({
      version, start: NOW - 360_000, end: NOW - 60_000, count: 600 - i * 100, rejected: 2, errors: 1,
      latencyMs: { p50: 12.5, p95: 40, p99: i === 0 ? 95.25 : null }, confidenceMean: task === 'classification' ? 0.88 : null,
      drift: driftReport(features, task),
    })),
  };
}

export function systemReadings(): Map<string, number> {
  const r = new Map<string, number>([
    ['cpu.cores', 4], ['cpu.total', 37.5], ['cpu.iowait', 1.25], ['load.1m', 0.52], ['load.5m', 0.4], ['load.15m', 0.31],
    ['memory.total', 8_000_000_000], ['memory.available', 5_500_000_000], ['memory.used', 2_500_000_000], ['memory.used_percent', 31.25],
    ['swap.total', 2_000_000_000], ['swap.used', 0],
    ['disk.data.total', 64e9], ['disk.data.used', 12e9], ['disk.data.free', 50e9], ['disk.data.used_percent', 19.35],
    ['disk.io.mmcblk0.read_bytes_per_s', 4096], ['disk.io.mmcblk0.write_bytes_per_s', 81920],
    ['network.eth0.rx_bytes_per_s', 1250.5], ['network.eth0.tx_bytes_per_s', 900], ['network.eth0.errors_per_s', 0], ['network.eth0.drops_per_s', 0],
    ['network.wlan0.rx_bytes_per_s', 10], ['network.wlan0.tx_bytes_per_s', 20], ['network.wlan0.errors_per_s', 0], ['network.wlan0.drops_per_s', 0.5],
    ['temperature.acpitz', 45.5], ['temperature.coretemp.Package_id_0', 52], ['temperature.coretemp.Core_0', 50],
    ['gpu.count', 1], ['gpu.0.utilization', 63], ['gpu.0.memory_utilization', 12], ['gpu.0.memory.used', 1024 * 1024 * 1800],
    ['gpu.0.memory.total', 1024 * 1024 * 16384], ['gpu.0.temperature', 61], ['gpu.0.power', 71.3], ['gpu.0.power_limit', 250],
    ['gpu.0.clock.sm', 1410], ['gpu.0.clock.mem', 5001], ['gpu.0.throttled', 0], ['gpu.0.pstate', 2], ['gpu.0.fan', 33],
    ['tegra.ram.used', 3_000_000_000], ['tegra.ram.total', 7_600_000_000], ['tegra.swap.used', 0], ['tegra.swap.total', 3_800_000_000],
    ['tegra.emc.utilization', 7], ['tegra.emc.clock', 2133], ['tegra.temperature.cpu', 48.5], ['tegra.temperature.soc0', 47],
    ['tegra.power.vdd_in', 5.1], ['tegra.power.vdd_cpu_gpu_cv', 1.2],
    ['process.triton.up', 1], ['process.triton.restarts', 1], ['process.triton.threads', 57], ['process.triton.uptime', 86_400],
    ['process.triton.cpu', 112.5], ['process.triton.rss', 2_100_000_000], ['process.worker-2.up', 0], ['process.worker-2.restarts', 0],
    ['container.inference.running', 1], ['container.inference.restarts', 2], ['container.inference.healthy', 1],
    ['container.inference.uptime', 3600], ['container.inference.cpu', 85], ['container.inference.memory', 900_000_000],
    ['container.inference.memory_limit', 4_000_000_000],
    ['agent.cpu', 2.5], ['agent.lines_per_s', 350], ['agent.rss', 81_000_000], ['agent.heap_used', 30_000_000],
    ['agent.commit_ms', 12], ['agent.commits', 5], ['agent.db_size', 52_000_000], ['agent.outbox_messages', 17], ['agent.outbox_bytes', 81_920], ['agent.errors.tail.EW_ERR_READ', 3],
    ['mystery.widget.level', 7],
  ]);
  for (let c = 0; c < 8; c++) r.set(`cpu.core.${c}`, 10 + c * 5);
  for (let c = 0; c < 6; c++) {
    r.set(`tegra.cpu.${c}.utilization`, 20 + c);
    r.set(`tegra.cpu.${c}.clock`, 1479);
  }
  return r;
}

/** `models` models with `features` features each; system readings topped up to `readings`. */
export function realisticSnapshot(opts: { models?: number; features?: number; readings?: number } = {}): MetricsSnapshot {
  const { models = 3, features = 50, readings = 100 } = opts;
  const system = systemReadings();
  for (let i = 0; system.size < readings; i++) system.set(`temperature.zone${i}`, 40 + i / 10);
  return {
    device: { id: 'jetson-07', site: 'plant "north"\\line\n2' },
    version: '0.1.0',
    models: Array.from({ length: models }, (_, i) => modelSnapshot(`model-${i}`, features, i % 2 === 0 ? 'classification' : 'regression')),
    system: { at: NOW - 2_000, readings: system },
    samplerFailures: new Map([['gpu:missing', 12], ['container:timeout', 1]]),
    alerts: [
      { rule: 'latency_p95', model: 'model-0', model_version: 'v1', state: 'firing', severity: 'warning', value: 0.04 },
      { rule: 'drift', model: 'model-1', model_version: 'v2', state: 'pending', severity: 'critical', value: 0.6 },
    ],
  };
}
