// Notifications of fleet alerts, never in ingest's way: they are sent from the fleet worker's thread,
// each target on its own queue, retried with capped, jittered back-off.
//   - Webhooks get the Alertmanager webhook format (version 4) for every change to firing or from
//     firing to resolved, one POST per evaluation with the alerts that changed.
//   - Alertmanagers get POST /api/v2/alerts with every firing alert at each evaluation (as
//     Prometheus does: an alert not sent again before its endsAt resolves there) and the ones that
//     just resolved, with their end. Only the newest batch waits: an old one is superseded.
// Silenced alerts are not sent. A target that keeps failing is logged once per failure kind.
import type { AlertsConfig } from '../config/types.js';
import type { CollectorLogger } from '../log.js';
import type { FleetAlert, Transition } from './engine.js';

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 1_000, maxMs: 60_000 };
/** Webhook batches kept per target while it is down; the oldest go first. */
const MAX_QUEUED = 100;
/** Devices listed in an annotation. */
const MAX_DEVICES_SHOWN = 20;

interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL?: string;
}

interface Target {
  kind: 'webhook' | 'alertmanager';
  url: string;
  timeout: number;
  queue: string[];
  sending: boolean;
  delay: number;
  timer: NodeJS.Timeout | null;
  lastError: string | null;
}

export class Notifier {
  private readonly targets: Target[];
  private readonly backoff: Backoff;
  private readonly fetchImpl: typeof fetch;
  /** alerts.interval: how far ahead a firing alert's endsAt is set for Alertmanager. */
  private readonly intervalMs: number;
  private closed = false;
  /** Sends that reached their target, by kind (tests, /metrics later). */
  readonly sent = { webhook: 0, alertmanager: 0 };

  constructor(
    private readonly cfg: AlertsConfig['notify'],
    private readonly log: CollectorLogger,
    opts: { fetch?: typeof fetch; backoff?: Backoff; intervalMs?: number } = {},
  ) {
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.fetchImpl = opts.fetch ?? fetch;
    this.intervalMs = opts.intervalMs ?? 15_000;
    const target = (kind: Target['kind'], url: string, timeout: number): Target => ({ kind, url, timeout, queue: [], sending: false, delay: this.backoff.initialMs, timer: null, lastError: null });
    this.targets = [
      ...cfg.webhooks.map((w) => target('webhook', w.url, w.timeout)),
      ...cfg.alertmanagers.map((a) => target('alertmanager', `${a.url.replace(/\/+$/, '')}/api/v2/alerts`, a.timeout)),
    ];
  }

  /** Hands an evaluation's changes (and, for Alertmanager, every alert) to the targets; returns at once. */
  notify(transitions: readonly Transition[], alerts: readonly FleetAlert[], now: number): void {
    if (this.closed || this.targets.length === 0) return;
    const changed = transitions.filter((t) => t.alert.silenced_by === null && (t.alert.state === 'firing' || (t.alert.state === 'resolved' && t.from === 'firing')));
    const firing = alerts.filter((a) => a.state === 'firing' && a.silenced_by === null);
    const resolvedNow = changed.filter((t) => t.alert.state === 'resolved').map((t) => t.alert);
    for (const t of this.targets) {
      if (t.kind === 'webhook') {
        if (changed.length === 0) continue;
        t.queue.push(JSON.stringify(this.webhookPayload(changed.map((c) => c.alert), now)));
        while (t.queue.length > MAX_QUEUED) {
          t.queue.shift();
          this.log.once(`notify.dropped.${t.url}`, 'warn', 'alerts: a webhook is down and its queue is full; the oldest notifications are dropped', { url: t.url });
        }
      } else {
        if (firing.length === 0 && resolvedNow.length === 0) continue;
        // The newest state supersedes whatever has not gone yet.
        t.queue = [JSON.stringify([...firing.map((a) => this.amAlert(a, now)), ...resolvedNow.map((a) => this.amAlert(a, now))])];
      }
      this.pump(t);
    }
  }

  /** Stops retrying; resolves once nothing is being sent (waits at most `waitMs`). */
  async close(waitMs = 2_000): Promise<void> {
    this.closed = true;
    for (const t of this.targets) if (t.timer !== null) clearTimeout(t.timer);
    const until = Date.now() + waitMs;
    while (this.targets.some((t) => t.sending) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  }

  private pump(t: Target): void {
    if (t.sending || t.timer !== null || t.queue.length === 0 || this.closed) return;
    const body = t.queue[0]!;
    t.sending = true;
    void this.post(t, body).then((ok) => {
      t.sending = false;
      if (ok) {
        if (t.queue[0] === body) t.queue.shift();
        t.delay = this.backoff.initialMs;
        if (t.lastError !== null) this.log.log('info', 'alerts: notifications reach their target again', { url: t.url });
        t.lastError = null;
        this.sent[t.kind]++;
        this.pump(t);
        return;
      }
      if (this.closed) return;
      // 50-100% of the delay, so targets coming back are not hit by every collector at once.
      const wait = t.delay * (0.5 + Math.random() / 2);
      t.delay = Math.min(t.delay * 2, this.backoff.maxMs);
      t.timer = setTimeout(() => {
        t.timer = null;
        this.pump(t);
      }, wait);
    });
  }

  private async post(t: Target, body: string): Promise<boolean> {
    try {
      const res = await this.fetchImpl(t.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(t.timeout),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return true;
      this.failed(t, `HTTP ${res.status}`);
    } catch (err) {
      this.failed(t, err instanceof Error ? err.message : String(err));
    }
    return false;
  }

  private failed(t: Target, why: string): void {
    if (t.lastError === why) return;
    t.lastError = why;
    this.log.log('warn', 'alerts: a notification did not go through; retrying with back-off', { url: t.url, kind: t.kind, error: why });
  }

  private annotations(a: FleetAlert): Record<string, string> {
    const shown = a.devices.slice(0, MAX_DEVICES_SHOWN).map((d) => (d.site === '' ? d.device : `${d.device} (${d.site})`));
    const more = a.devices.length > MAX_DEVICES_SHOWN ? ` and ${a.devices.length - MAX_DEVICES_SHOWN} more` : '';
    return { summary: a.summary, devices: shown.join(', ') + more, firing: String(a.firing), resolved: String(a.resolved) };
  }

  private amAlert(a: FleetAlert, now: number): AmAlert {
    const out: AmAlert = {
      labels: { ...a.labels, alertname: a.name, source: 'edgewatch' },
      annotations: this.annotations(a),
      startsAt: new Date(a.firing_since ?? a.active_since).toISOString(),
      // Firing: alive for four evaluations unless sent again; resolved: ended when it resolved.
      endsAt: new Date(a.state === 'resolved' ? (a.resolved_at ?? now) : now + 4 * this.intervalMs).toISOString(),
    };
    if (this.cfg.external_url !== null) out.generatorURL = `${this.cfg.external_url.replace(/\/+$/, '')}/#/alerts`;
    return out;
  }

  /** Alertmanager's webhook format (version 4), as a receiver written for Alertmanager expects it. */
  private webhookPayload(alerts: FleetAlert[], now: number) {
    const list = alerts.map((a) => ({
      status: a.state === 'resolved' ? 'resolved' : 'firing',
      labels: { ...a.labels, alertname: a.name, source: 'edgewatch' },
      annotations: this.annotations(a),
      startsAt: new Date(a.firing_since ?? a.active_since).toISOString(),
      endsAt: a.state === 'resolved' && a.resolved_at !== null ? new Date(a.resolved_at).toISOString() : '0001-01-01T00:00:00Z',
      generatorURL: this.cfg.external_url === null ? '' : `${this.cfg.external_url.replace(/\/+$/, '')}/#/alerts`,
      fingerprint: a.id,
    }));
    const common = (pick: (x: (typeof list)[number]) => Record<string, string>): Record<string, string> => {
      const [first, ...rest] = list.map(pick);
      return Object.fromEntries(Object.entries(first ?? {}).filter(([k, v]) => rest.every((o) => o[k] === v)));
    };
    return {
      version: '4',
      groupKey: `edgewatch:${now}`,
      truncatedAlerts: 0,
      status: list.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
      receiver: 'edgewatch',
      groupLabels: {},
      commonLabels: common((x) => x.labels),
      commonAnnotations: common((x) => x.annotations),
      externalURL: this.cfg.external_url ?? '',
      alerts: list,
    };
  }
}
