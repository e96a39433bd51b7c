// The collector's /metrics in the Prometheus text format (version 0.0.4): the fleet at a glance for
// Prometheus and Grafana (config/grafana-collector.json). Read from the store at each scrape
// (devices, device alerts, fleet drift of the latest rolled-up hour) and from the counters the
// MQTT side keeps since the collector started (messages by result, refusals by reason).

import type { MetricsInput } from '../store/index.js';

/** A label value as the text format wants it: backslash, double quote and newline escaped. */
function label(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labels(l: Record<string, string>): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${label(v)}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export function renderCollectorMetrics(m: MetricsInput): string {
  const out: string[] = [];
  const family = (name: string, type: 'gauge' | 'counter', help: string, samples: [Record<string, string>, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [l, v] of samples) out.push(`${name}${labels(l)} ${num(v)}`);
  };
  family('edgewatch_collector_devices', 'gauge', 'Devices by state from their status topic (unknown: no status heard).', [
    [{ state: 'online' }, m.devices.online],
    [{ state: 'offline' }, m.devices.offline],
    [{ state: 'unknown' }, m.devices.unknown],
  ]);
  const messages = ['stored', 'duplicate', 'status', 'ignored'].map((r): [Record<string, string>, number] => [{ result: r }, m.counters.messages[r] ?? 0]);
  family('edgewatch_collector_messages_total', 'counter', 'MQTT messages ingested since start, by result (duplicates are copies absorbed by the dedupe).', messages);
  family(
    'edgewatch_collector_messages_refused_total',
    'counter',
    'MQTT messages refused by ingest since start, by reason.',
    Object.entries(m.counters.refused).sort().map(([reason, n]) => [{ reason }, n]),
  );
  family(
    'edgewatch_collector_mqtt_refused_total',
    'counter',
    'Embedded broker refusals since start: connections, publishes outside the ACL, subscriptions, failed commits.',
    Object.entries(m.counters.broker).sort().map(([what, n]) => [{ what }, n]),
  );
  family(
    'edgewatch_collector_alerts_firing',
    'gauge',
    'Devices whose agent alert is firing, by rule name and severity.',
    m.alertsFiring.map((a) => [{ name: a.name, severity: a.severity }, a.devices]),
  );
  family(
    'edgewatch_collector_fleet_drift_share',
    'gauge',
    "Share of features drifted in the fleet's latest rolled-up hour of each model version, against its baseline.",
    m.fleetDrift.map((d) => [{ model: d.model, version: d.version }, d.share]),
  );
  family(
    'edgewatch_collector_fleet_drift_hour_timestamp_seconds',
    'gauge',
    'Start of the hour the fleet drift share is of.',
    m.fleetDrift.map((d) => [{ model: d.model, version: d.version }, d.hour / 1000]),
  );
  family('edgewatch_collector_fleet_backlog_summaries', 'gauge', 'Summaries stored and not yet folded into the fleet rollups.', [[{}, m.fleetBacklog]]);
  family('edgewatch_collector_uptime_seconds', 'gauge', 'Seconds since the collector started.', [[{}, m.uptimeS]]);
  return out.join('\n') + '\n';
}
