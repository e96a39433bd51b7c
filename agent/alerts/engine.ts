// The alert lifecycle, as pure logic with time handed in by the caller: window rules are evaluated
// at each window close with the window's end (event time), log silence on a timer with wall time.
// One active alert per (rule, model, model_version); rows changed since the last `takeChanges` go
// to the store in the agent's commit, and a restart continues from the active rows stored.
import type { AlertOp, AlertRuleConfig, AlertSeverity } from '../config/types.js';
import type { MetricLookup } from './metrics.js';
import { SILENCE_METRIC } from './metric-names.js';

export type AlertState = 'pending' | 'firing' | 'resolved';

/** One alert, as stored and as `alerts --json` prints it. Times are epoch ms. */
export interface Alert {
  id: number;
  rule: string;
  model: string;
  /** '' for model-wide rules (log silence). */
  model_version: string;
  state: AlertState;
  severity: AlertSeverity;
  labels: Record<string, string>;
  metric: string;
  op: AlertOp;
  threshold: number;
  /** The value that started the alert, replaced by the one that fired it. */
  value: number;
  /** The value at the latest evaluation. */
  last_value: number;
  pending_at: number;
  /** null while pending, and on a resolved alert that never fired. */
  firing_at: number | null;
  resolved_at: number | null;
  /** Time of the latest evaluation that changed the row (event time for window rules, wall time for silence). */
  updated_at: number;
  /** Why it was resolved. */
  reason: string | null;
}

export const RESOLVED_CLEARED = 'condition cleared';
export const RESOLVED_BEFORE_FIRING = 'condition cleared before it fired';
export const RESOLVED_RULE_GONE = 'rule no longer in the configuration';
export const RESOLVED_MODEL_GONE = 'model no longer in the configuration';

/** A version's alerts go stale after this many of its windows (at least STALE_MIN_MS) with none of its own. */
export const STALE_WINDOWS = 10;
export const STALE_MIN_MS = 3_600_000;

export interface AlertEngineOptions {
  /** The models, for each one's window length (staleness). */
  models: readonly { name: string; window_ms: number }[];
  /** The active (pending or firing) alerts the store holds. */
  restored: readonly Alert[];
  /** The id the next new alert gets: one past the largest stored. */
  nextId: number;
  /** Wall time at start: when restored alerts whose rule is gone are resolved. */
  now: number;
}

export function compare(value: number, op: AlertOp, threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '==':
      return value === threshold;
    case '!=':
      return value !== threshold;
  }
}

/**
 * Seconds without a record at wall time `now`: since the model's last record, or, when it has had
 * none since the database was created, since `startedAt` (the agent's start), so a job that never
 * logs is silent too.
 */
export function silenceSeconds(lastRecordAt: number | null, startedAt: number, now: number): number {
  return Math.max(0, now - (lastRecordAt ?? startedAt)) / 1000;
}

/** An active alert whose value alone changed is stored again after this long. */
export const REFRESH_MS = 60_000;

const keyOf = (rule: string, model: string, version: string): string => `${rule}\u0000${model}\u0000${version}`;
const versionKey = (model: string, version: string): string => `${model}\u0000${version}`;

export class AlertEngine {
  private readonly windowRules: readonly AlertRuleConfig[];
  private readonly silenceRules: readonly AlertRuleConfig[];
  private readonly staleMs = new Map<string, number>();
  /** Pending and firing alerts by (rule, model, version). */
  private readonly live = new Map<string, Alert>();
  /** Evaluation time of the latest stored copy of each active alert. */
  private readonly storedAt = new Map<number, number>();
  /** Rows changed since the last takeChanges, by id. */
  private readonly changed = new Map<number, Alert>();
  /** The end of each (model, version)'s latest window evaluated. */
  private readonly lastWindow = new Map<string, number>();
  private nextId: number;

  constructor(rules: readonly AlertRuleConfig[], opts: AlertEngineOptions) {
    this.windowRules = rules.filter((r) => r.metric !== SILENCE_METRIC);
    this.silenceRules = rules.filter((r) => r.metric === SILENCE_METRIC);
    for (const m of opts.models) this.staleMs.set(m.name, Math.max(STALE_WINDOWS * m.window_ms, STALE_MIN_MS));
    this.nextId = opts.nextId;
    const byName = new Map(rules.map((r) => [r.name, r]));
    for (const row of opts.restored) {
      const alert = { ...row, labels: { ...row.labels } };
      this.nextId = Math.max(this.nextId, alert.id + 1);
      const rule = byName.get(alert.rule);
      const gone = !this.staleMs.has(alert.model) ? RESOLVED_MODEL_GONE
        : rule === undefined || (rule.model !== null && rule.model !== alert.model) ? RESOLVED_RULE_GONE
        : null;
      if (gone !== null) {
        this.resolve(alert, alert.last_value, opts.now, gone);
        continue;
      }
      this.live.set(keyOf(alert.rule, alert.model, alert.model_version), alert);
      if (alert.model_version !== '') {
        const vk = versionKey(alert.model, alert.model_version);
        this.lastWindow.set(vk, Math.max(this.lastWindow.get(vk) ?? -Infinity, alert.updated_at));
      }
    }
  }

  /** Evaluates the window rules against one closed window of (model, version) ending at `at`. */
  evaluateWindow(model: string, version: string, at: number, lookup: MetricLookup): void {
    const vk = versionKey(model, version);
    this.lastWindow.set(vk, Math.max(this.lastWindow.get(vk) ?? -Infinity, at));
    for (const rule of this.windowRules) {
      if (rule.model !== null && rule.model !== model) continue;
      this.evaluate(rule, model, version, at, lookup(rule.metric));
    }
    this.expireStale(model, at);
  }

  /**
   * Evaluates the log-silence rules of a model: `silenceSeconds` since its last record (null: no
   * value, nothing changes), at wall time `at`.
   */
  evaluateSilence(model: string, silenceSeconds: number | null, at: number): void {
    for (const rule of this.silenceRules) {
      if (rule.model !== null && rule.model !== model) continue;
      this.evaluate(rule, model, '', at, silenceSeconds);
    }
  }

  /** The rows created or updated since the last call, each once (its latest state), by id. */
  takeChanges(): Alert[] {
    const out = [...this.changed.values()].sort((a, b) => a.id - b.id);
    this.changed.clear();
    return out;
  }

  /** Pending and firing alerts, copies. */
  active(): Alert[] {
    return [...this.live.values()].map((a) => ({ ...a, labels: { ...a.labels } })).sort((a, b) => a.id - b.id);
  }

  private evaluate(rule: AlertRuleConfig, model: string, version: string, at: number, value: number | null): void {
    if (value === null || !Number.isFinite(value)) return;
    const key = keyOf(rule.name, model, version);
    const alert = this.live.get(key);
    // A window older than the alert's latest evaluation (closed out of order) does not move it back.
    if (alert !== undefined && at < alert.updated_at) return;
    const holds = compare(value, rule.op, rule.threshold);
    if (alert === undefined) {
      if (!holds) return;
      const fires = rule.for_ms === 0;
      const created: Alert = {
        id: this.nextId++,
        rule: rule.name,
        model,
        model_version: version,
        state: fires ? 'firing' : 'pending',
        severity: rule.severity,
        labels: { ...rule.labels },
        metric: rule.metric,
        op: rule.op,
        threshold: rule.threshold,
        value,
        last_value: value,
        pending_at: at,
        firing_at: fires ? at : null,
        resolved_at: null,
        updated_at: at,
        reason: null,
      };
      this.live.set(key, created);
      this.mark(created);
      return;
    }
    // The rule may have changed since the alert opened (a restart with a new config): show today's.
    Object.assign(alert, { severity: rule.severity, labels: { ...rule.labels }, metric: rule.metric, op: rule.op, threshold: rule.threshold });
    if (!holds) {
      this.resolve(alert, value, at, alert.state === 'firing' ? RESOLVED_CLEARED : RESOLVED_BEFORE_FIRING);
      this.live.delete(key);
      return;
    }
    alert.last_value = value;
    alert.updated_at = at;
    if (alert.state === 'pending' && at - alert.pending_at >= rule.for_ms) {
      alert.state = 'firing';
      alert.firing_at = at;
      alert.value = value;
      this.mark(alert);
      return;
    }
    // Only the latest value changed: stored at most once a minute, so a firing silence alert
    // (evaluated every second while the logs are quiet) does not write to the disk every second.
    if (at - (this.storedAt.get(alert.id) ?? -Infinity) >= REFRESH_MS) this.mark(alert);
  }

  /** Whether takeChanges would return anything. */
  get hasChanges(): boolean {
    return this.changed.size > 0;
  }

  /** Resolves the alerts of the model's versions that have had no window for their stale time. */
  private expireStale(model: string, at: number): void {
    const staleMs = this.staleMs.get(model);
    if (staleMs === undefined) return;
    for (const [key, alert] of this.live) {
      if (alert.model !== model || alert.model_version === '') continue;
      const last = this.lastWindow.get(versionKey(model, alert.model_version)) ?? alert.updated_at;
      if (at - last < staleMs) continue;
      const reason = `stale: no window of version ${alert.model_version} since ${new Date(last).toISOString()}`;
      this.resolve(alert, alert.last_value, at, reason);
      this.live.delete(key);
    }
  }

  private resolve(alert: Alert, value: number, at: number, reason: string): void {
    alert.state = 'resolved';
    alert.last_value = value;
    alert.resolved_at = at;
    alert.updated_at = at;
    alert.reason = reason;
    this.mark(alert);
  }

  private mark(alert: Alert): void {
    this.changed.set(alert.id, { ...alert, labels: { ...alert.labels } });
    this.storedAt.set(alert.id, alert.updated_at);
    if (alert.state === 'resolved') this.storedAt.delete(alert.id);
  }
}
