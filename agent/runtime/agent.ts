// The agent's pipeline for every configured model: tail -> parse -> windows, committed to the store
// in batches. Everything runs on one thread and synchronously between commits, so the offsets the
// tailer reports always match the profile state in memory, and a commit captures both together.
import type { AgentConfig, ModelConfig } from '../config/types.js';
import { AgentError } from '../errors.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { WindowProfile } from '../profile/index.js';
import { FeatureTypes, createLineParser, type DelayedLabel } from '../records/index.js';
import { LabelJoiner } from '../labels/joiner.js';
import { AlertEngine, silenceSeconds, windowMetrics } from '../alerts/index.js';
import type { MetricsSnapshot, WindowSnapshot } from '../metrics/index.js';
import { SystemSampler, systemSources, type AgentHealth, type SourceEnv, type SystemRound } from '../system/index.js';
import { VERSION } from '../version.js';
import { baselineId } from '../wire/envelope.js';
import type { AgentStore, ModelCommit, OutboxCommit } from '../store/index.js';
import { alertMessage, baselineMessage, windowMessages, type WindowMessages } from '../sync/summary.js';
import type { Publisher, PublisherStats } from '../sync/publisher.js';
import { AgentStore as Store } from '../store/index.js';
import { Tailer, type TailedFile, type TailEvents } from '../tail/index.js';
import { BaselineLearner, ModelWindows, rollUpExpired, windowStart } from '../window/index.js';

type LineParser = ReturnType<typeof createLineParser>;

export interface AgentOptions {
  now?: () => number;
  log?: Logger;
  /** Where system sources look (PATH for nvidia-smi, time limits); the config gives /proc and /sys. */
  systemEnv?: Partial<SourceEnv>;
  /** For tests: the publisher's reconnect back-off (a device uses 1 s doubling to 60 s). */
  syncBackoff?: { firstMs: number; capMs: number };
}

const RETENTION_EVERY_MS = 60_000;
const FILE_FORGET_MS = 30 * 86_400_000;

class ModelPipeline {
  readonly types: FeatureTypes;
  readonly windows: ModelWindows;
  readonly tailer: Tailer;
  private readonly parsers = new Map<string, LineParser>();
  /** Records and rejections since the last commit. */
  pending = 0;
  /** The time of reading for this batch of lines (one clock read per batch, not per line). */
  readTime = 0;
  private readonly baselines = new Map<string, WindowProfile | null>();
  private readonly learner: BaselineLearner | null;
  private baselinesSeen = '';
  private readonly labels: LabelJoiner | null;
  /** The newest closed window of each version, for the metrics endpoint. */
  readonly lastClosed = new Map<string, WindowSnapshot>();

  constructor(
    readonly model: ModelConfig,
    config: AgentConfig,
    private readonly store: AgentStore,
    now: () => number,
    private readonly log: Logger,
  ) {
    this.types = new FeatureTypes(model.features, model.infer_features, store.loadFeatureTypes(model.name));
    const restored = store.loadOpenWindows(model.name).map((w) => WindowProfile.decode(w.profile));
    this.windows = new ModelWindows(
      model,
      { windows: restored, counters: store.loadCounters(model.name) },
      (version) => this.baselineFor(store, version),
      (version, start) => {
        const w = store.closedWindow(model.name, version, start);
        return w ? { profile: WindowProfile.decode(w.profile), revision: w.revision } : null;
      },
    );
    this.labels = model.labels.delayed
      ? new LabelJoiner(model.labels, store.pending.source(model.name), store.pending.counters(model.name))
      : null;
    const learn = model.baseline_learn;
    this.learner = learn
      ? new BaselineLearner(model, learn, store.baselines.learning(model.name), (v) => store.baselines.get(model.name, v)?.modelVersion === v)
      : null;
    const events: TailEvents = {
      line: (file, text, first) => this.onLine(file, text, first),
      header: (file, text) => this.parserFor(file).setHeader(text),
      tooLong: (_file, bytes) => {
        this.pending++;
        this.windows.reject(
          {
            reason: 'too_long',
            detail: `line of ${bytes} bytes is over max_line_size (${model.max_line_bytes} bytes)`,
            example: '',
            ts: null,
          },
          this.readTime,
        );
      },
      notice: (kind, file, detail) => {
        if (kind === 'closed') {
          // A reopened file gets a new parser (and, for CSV, its header again).
          this.parsers.delete(file.key);
          this.log.log('debug', 'log file closed', { model: model.name, path: file.path, detail });
          return;
        }
        if (kind === 'unreadable') {
          // Once per file and cause: a file we may not read would otherwise fill the log every poll.
          this.log.once(`read:${file.path}:${detail}`, 'error', 'log file unreadable', { code: 'EW_ERR_READ', model: model.name, path: file.path, detail });
          return;
        }
        const level = kind === 'missing' || kind === 'truncated' || kind === 'replaced' ? 'warn' : 'info';
        this.log.log(level, `log file ${kind}`, { model: model.name, path: file.path, detail });
      },
    };
    this.tailer = new Tailer(
      {
        globs: model.logs,
        startPosition: model.start_position,
        maxLineBytes: model.max_line_bytes,
        readChunkBytes: config.ingest.read_chunk_bytes,
        rotateWaitMs: config.ingest.rotate_wait_ms,
        idleCloseMs: config.ingest.idle_close_ms,
        now,
      },
      store.loadCheckpoints(model.name),
      events,
    );
  }

  /**
   * The decoded baseline for a version, cached; the cache is dropped when the baselines table
   * changes (`edgewatch-agent baseline` may add one while the agent runs).
   */
  private baselineFor(store: AgentStore, version: string): WindowProfile | null {
    // A baseline learned in this very batch counts at once, before the commit stores it.
    const learned = this.learner?.completed(version);
    if (learned) return learned;
    const seen = store.baselines.version(this.model.name);
    if (seen !== this.baselinesSeen) {
      this.baselines.clear();
      this.baselinesSeen = seen;
    }
    let b = this.baselines.get(version);
    if (b === undefined) {
      const stored = store.baselines.get(this.model.name, version);
      b = stored ? WindowProfile.decode(stored.profile) : null;
      this.baselines.set(version, b);
    }
    return b;
  }

  private parserFor(file: TailedFile): LineParser {
    let p = this.parsers.get(file.key);
    if (!p) {
      p = createLineParser(this.model, this.types);
      this.parsers.set(file.key, p);
    }
    return p;
  }

  private onLine(file: TailedFile, text: string, first: boolean): void {
    const parser = this.parserFor(file);
    if (first && parser.needsHeader) {
      parser.setHeader(text);
      return;
    }
    const now = this.readTime;
    const res = parser.parse(text, now);
    this.pending++;
    if (!res.ok) {
      this.windows.reject(res.rejection, now);
      return;
    }
    const r = res.record;
    if (r === null) {
      this.onLabel(res.label);
      return;
    }
    const labels = this.labels;
    const waits = labels !== null && r.label === null && r.requestId !== null;
    if (waits) r.label = labels.takeWaitingLabel(r.requestId as string, r.ts);
    if (!this.windows.add(r, now)) return;
    this.learner?.add(r);
    if (waits && r.label === null) labels.keep(r as typeof r & { requestId: string }, windowStart(r.ts, this.model.window_ms));
  }

  /** Whether a commit now would write anything: records, window state, offsets, labels. */
  hasChanges(): boolean {
    return this.pending > 0 || this.windows.hasChanges() || this.tailer.hasChanges() || (this.labels?.hasChanges() ?? false);
  }

  /** Delayed-label counters, or null when the model does not join delayed labels. */
  get labelCounters(): LabelJoiner['counters'] | null {
    return this.labels?.counters ?? null;
  }

  /** A label line: joined to its waiting prediction's window, or kept waiting for the prediction. */
  private onLabel(l: DelayedLabel): void {
    const labels = this.labels;
    if (labels === null) return;
    const p = labels.join(l);
    if (p === null) return;
    const landed = this.windows.applyLabel(p.modelVersion, p.windowStart, l.label, p);
    if (landed === 'revised') labels.counters.joined_after_close++;
    else if (landed === 'gone') labels.counters.unrevisable++;
  }

  takeCommit(now: number, alerts: AlertEngine, outbox: OutboxCommit, maxMessageBytes: number): ModelCommit {
    const { open, closed, revised, closedProfiles, revisedProfiles } = this.windows.takeChanges(now);
    // Alerts see the windows in the order they ended.
    for (const { profile: p, drift } of [...closedProfiles].sort((a, b) => a.profile.end - b.profile.end)) {
      alerts.evaluateWindow(this.model.name, p.modelVersion, p.end, windowMetrics(p, drift, this.baselineFor(this.store, p.modelVersion)));
      const seen = this.lastClosed.get(p.modelVersion);
      if (seen === undefined || seen.end <= p.end) {
        const lat = p.latencyMs;
        this.lastClosed.set(p.modelVersion, {
          version: p.modelVersion,
          start: p.start,
          end: p.end,
          count: p.count,
          rejected: p.rejected,
          errors: p.errors,
          latencyMs: { p50: lat.quantile(0.5), p95: lat.quantile(0.95), p99: lat.quantile(0.99) },
          confidenceMean: p.confidence.mean,
          drift,
        });
      }
    }
    // Summaries carry the model's alerts as they stand after this batch's windows were evaluated.
    const active = alerts.active();
    const add = (m: WindowMessages): void => {
      outbox.entries.push(...m.entries);
      outbox.trimmedExamples += m.trimmedExamples;
      if (m.split) outbox.splitSummaries++;
    };
    // A baseline goes to the collector ahead of the first summary compared with it (one learned in
    // this batch is stored by this very commit).
    const learned = this.learner?.takeChanges(now) ?? [];
    const baselinesSent: ModelCommit['baselinesSent'] = [];
    for (const { profile, drift } of closedProfiles) {
      if (drift === null) continue;
      const stored = learned.find((b) => b.complete && b.modelVersion === profile.modelVersion) ?? this.store.baselines.get(this.model.name, profile.modelVersion);
      if (stored === null || baselinesSent.some((b) => b.modelVersion === stored.modelVersion)) continue;
      const id = baselineId(stored.profile);
      if (id === stored.sentId) continue;
      const entry = baselineMessage(stored, maxMessageBytes);
      if (entry === null) {
        this.log.log('warn', 'baseline too large to send', { model: this.model.name, version: stored.modelVersion, detail: 'over sync.max_message_bytes even without its examples: the collector will not get it' });
      } else {
        outbox.entries.push(entry);
      }
      baselinesSent.push({ modelVersion: stored.modelVersion, id });
    }
    closedProfiles.forEach(({ profile, drift }, i) => {
      const stored = closed[i];
      add(windowMessages('summary', { profile, drift, driftJson: stored?.drift ?? null, closedAt: now, revision: 0, ...(stored ? { encoded: stored.profile } : {}) }, active, maxMessageBytes));
    });
    revisedProfiles.forEach(({ profile, drift, revision }, i) => {
      const stored = revised[i];
      add(windowMessages('revision', { profile, drift, driftJson: stored?.drift ?? null, closedAt: now, revision, ...(stored ? { encoded: stored.profile } : {}) }, active, maxMessageBytes));
    });
    const featureTypes = this.types.changed ? this.types.snapshot() : null;
    this.types.markSaved();
    this.pending = 0;
    return {
      model: this.model.name,
      counters: structuredClone(this.windows.counters),
      featureTypes,
      open,
      closed,
      checkpoints: this.tailer.takeCheckpoints(),
      baselines: learned,
      baselinesSent,
      labels: this.labels?.takeChanges(this.windows.counters.watermark) ?? null,
      revised,
    };
  }
}

export class Agent {
  private readonly pipelines: ModelPipeline[];
  private readonly now: () => number;
  private readonly log: Logger;
  private lastCommitAt: number;
  private lastScanAt = Number.NEGATIVE_INFINITY;
  private lastRetentionAt = Number.NEGATIVE_INFINITY;
  private closed = false;
  private readonly startedAt: number;
  private readonly alerts: AlertEngine;
  private sampler: SystemSampler | null = null;
  /** Rounds handed over by the sampler, folded into the windows at the next step. */
  private readonly systemRounds: SystemRound[] = [];
  private latestRound: SystemRound | null = null;
  private roundsAccepted = 0;
  private commitMs: number[] = [];
  private publisher: Publisher | null = null;
  private readonly systemEnv: Partial<SourceEnv>;
  private readonly syncBackoff: { firstMs: number; capMs: number } | undefined;

  constructor(
    readonly config: AgentConfig,
    readonly store: AgentStore,
    opts: AgentOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? silentLogger;
    this.systemEnv = opts.systemEnv ?? {};
    this.syncBackoff = opts.syncBackoff;
    this.pipelines = config.models.map((m) => new ModelPipeline(m, config, store, this.now, this.log));
    this.lastCommitAt = this.now();
    this.startedAt = this.lastCommitAt;
    this.alerts = new AlertEngine(config.alerts, {
      models: config.models,
      restored: store.alerts.active(),
      nextId: store.alerts.nextId(),
      now: this.startedAt,
    });
  }

  /** Opens the store in the config's data_dir (taking its lock) and restores the saved state. */
  static open(config: AgentConfig, opts: AgentOptions = {}): Agent {
    const store = Store.openForWriting(config.data_dir, config.device.id);
    try {
      return new Agent(config, store, opts);
    } catch (err) {
      store.close();
      throw err;
    }
  }

  /**
   * One round: look for new/rotated files when a poll interval has passed (or when `forceScan`),
   * read up to `maxBytes`, close windows the watermark passed. Returns the bytes read.
   */
  step(maxBytes = this.config.ingest.read_chunk_bytes * 4, forceScan = false): number {
    const now = this.now();
    if (this.systemRounds.length > 0) this.foldSystemRounds(now);
    if (forceScan || now - this.lastScanAt >= this.config.ingest.poll_interval_ms) {
      this.lastScanAt = now;
      for (const p of this.pipelines) p.tailer.scan();
    }
    let bytes = 0;
    for (const p of this.pipelines) {
      p.readTime = now;
      bytes += p.tailer.read(maxBytes);
      p.windows.advance(this.now());
    }
    return bytes;
  }

  /**
   * Starts sampling the device on `system.interval` (when `system.enabled`): each round is taken on
   * the event loop between steps and folded into the windows at the next step.
   */
  startSystemSampling(): void {
    if (!this.config.system.enabled || this.sampler !== null || this.closed) return;
    this.sampler = new SystemSampler({
      intervalMs: this.config.system.interval_ms,
      sources: systemSources(this.config, () => this.health(), this.systemEnv),
      now: this.now,
      log: this.log,
      onRound: (r) => this.acceptSystemRound(r),
    });
    this.sampler.start();
  }

  /** Stops sampling; no round is handed over after this resolves. */
  async stopSystemSampling(): Promise<void> {
    const sampler = this.sampler;
    this.sampler = null;
    await sampler?.stop();
  }

  /**
   * Starts sending the outbox to the broker (continuous, or on the schedule); nothing in manual
   * mode, where summaries wait for `edgewatch-agent export`.
   */
  async startSync(): Promise<void> {
    if (this.config.sync.mode === 'manual' || this.publisher !== null || this.closed) return;
    const { Publisher } = await import('../sync/publisher.js');
    this.publisher = new Publisher({
      config: this.config,
      outbox: this.store.outbox,
      log: this.log,
      now: this.now,
      ...(this.syncBackoff ? { backoff: this.syncBackoff } : {}),
    });
    await this.publisher.start();
  }

  /**
   * One sync session now (connect, drain the outbox, disconnect), whatever the mode but manual;
   * null in manual mode. Resolves with what was acknowledged and what is left.
   */
  async syncOnce(maxDurationMs = this.config.sync.max_duration_ms): Promise<{ sent: number; left: number } | null> {
    if (this.config.sync.mode === 'manual' || this.closed) return null;
    const { Publisher } = await import('../sync/publisher.js');
    const p = new Publisher({
      config: this.config,
      outbox: this.store.outbox,
      log: this.log,
      now: this.now,
      ...(this.syncBackoff ? { backoff: this.syncBackoff } : {}),
    });
    const sent = await p.session(maxDurationMs);
    await p.stop();
    return { sent, left: this.store.outbox.messages };
  }

  /** Stops sending; acknowledged messages are removed from the outbox before this resolves. */
  async stopSync(): Promise<void> {
    const p = this.publisher;
    this.publisher = null;
    await p?.stop();
  }

  /** The publisher's counters, or null when the agent does not sync over MQTT. */
  get syncStats(): PublisherStats | null {
    return this.publisher?.stats ?? null;
  }

  /** A sampling round (from the sampler, or from a test): kept until the next step folds it in. */
  acceptSystemRound(r: SystemRound): void {
    this.systemRounds.push(r);
    this.latestRound = r;
    this.roundsAccepted++;
  }

  /** Sampling rounds handed over since start. */
  get systemRoundsAccepted(): number {
    return this.roundsAccepted;
  }

  private foldSystemRounds(now: number): void {
    for (const r of this.systemRounds) {
      for (const p of this.pipelines) {
        p.windows.addSystemRound(r.at, r.readings, r.failed, now);
      }
    }
    this.systemRounds.length = 0;
  }

  private health(): AgentHealth {
    let lines = 0;
    for (const p of this.pipelines) lines += p.windows.counters.accepted + p.windows.counters.rejected;
    return {
      lines,
      takeCommitMs: () => {
        const taken = this.commitMs;
        this.commitMs = [];
        return taken;
      },
      dbFiles: [this.store.file, `${this.store.file}-wal`],
      errors: this.log.faults,
      outbox: () => {
        const o = this.store.outbox;
        return { messages: o.messages, bytes: o.bytes };
      },
    };
  }

  /** What the metrics endpoint renders, read from memory (no database query per scrape). */
  metricsSnapshot(): MetricsSnapshot {
    const r = this.latestRound;
    return {
      device: { id: this.config.device.id, site: this.config.device.site },
      version: VERSION,
      models: this.pipelines.map((p) => {
        const c = p.windows.counters;
        return {
          model: p.model.name,
          accepted: c.accepted,
          rejected: c.rejected,
          late: c.late,
          rejectedByReason: { ...c.rejectedByReason },
          watermark: c.watermark,
          lastRecordAt: c.lastRecordAt,
          windowsOpen: p.windows.openCount,
          labels: p.labelCounters ? { ...p.labelCounters } : null,
          lastWindows: [...p.lastClosed.values()],
        };
      }),
      system: r ? { at: r.at, readings: r.readings } : null,
      samplerFailures: new Map(this.sampler?.failures ?? []),
      alerts: this.alerts.active().flatMap((a) =>
        a.state === 'resolved'
          ? []
          : [{ rule: a.rule, model: a.model, model_version: a.model_version, state: a.state, severity: a.severity, value: a.value }],
      ),
    };
  }

  get logger(): Logger {
    return this.log;
  }

  get uncommitted(): number {
    let n = 0;
    for (const p of this.pipelines) n += p.pending;
    return n;
  }

  /**
   * Commits when a batch is full or commit_interval has passed, and only when something changed: an
   * idle agent evaluates its silence rules on this rhythm but writes nothing to the device's disk.
   */
  commitIfDue(): boolean {
    const now = this.now();
    if (this.uncommitted >= this.config.ingest.commit_max_records || now - this.lastCommitAt >= this.config.ingest.commit_interval_ms) {
      this.evaluateSilence(now);
      if (!this.alerts.hasChanges && !this.pipelines.some((p) => p.hasChanges())) {
        this.lastCommitAt = now;
        return false;
      }
      this.commit();
      return true;
    }
    return false;
  }

  private evaluateSilence(now: number): void {
    for (const p of this.pipelines) {
      this.alerts.evaluateSilence(p.model.name, silenceSeconds(p.windows.counters.lastRecordAt, this.startedAt, now), now);
    }
  }

  commit(): void {
    const now = this.now();
    // commitIfDue's rhythm (commit_interval, also while idle) is the log-silence timer.
    this.evaluateSilence(now);
    const sync = this.config.sync;
    const outbox: OutboxCommit = { entries: [], maxBytes: sync.outbox_max_bytes, trimmedExamples: 0, splitSummaries: 0 };
    const batch = this.pipelines.map((p) => p.takeCommit(now, this.alerts, outbox, sync.max_message_bytes));
    const alertChanges = this.alerts.takeChanges();
    // State changes go at once, in their own message, ahead of the next window's summary.
    if (alertChanges.length > 0) outbox.entries.push(alertMessage(alertChanges));
    const started = performance.now();
    try {
      this.store.commit(batch, now, alertChanges, outbox);
      if (this.commitMs.length < 10_000) this.commitMs.push(performance.now() - started);
      if (outbox.entries.length > 0) this.publisher?.kick();
    } catch (err) {
      // What was taken for this commit cannot be put back; the restart resumes from the last one.
      throw new AgentError('EW_ERR_COMMIT', `commit to ${this.store.file} failed: ${(err as Error).message}`);
    }
    this.lastCommitAt = now;
    if (now - this.lastRetentionAt >= RETENTION_EVERY_MS) {
      this.lastRetentionAt = now;
      this.applyRetention(now);
    }
  }

  /** Reads every file to its current end, committing in batches (for `--once` and tests). */
  ingestAvailable(): void {
    this.step(this.config.ingest.read_chunk_bytes * 4, true);
    for (;;) {
      const n = this.step(this.config.ingest.read_chunk_bytes * 4, false);
      this.commitIfDue();
      if (n === 0) break;
    }
  }

  closeAllWindows(): void {
    for (const p of this.pipelines) p.windows.closeAll();
  }

  /** Commits what is in memory and releases the store. Open windows stay open unless configured. */
  shutdown(opts: { closeWindows?: boolean } = {}): void {
    if (this.closed) return;
    if (opts.closeWindows ?? this.config.ingest.close_windows_on_shutdown) this.closeAllWindows();
    this.commit();
    this.abandon();
  }

  /** Releases files and the store without committing: what a crash would leave behind. */
  abandon(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pipelines) p.tailer.close();
    this.store.close();
  }

  private applyRetention(now: number): void {
    for (const p of this.pipelines) {
      const wm = p.windows.counters.watermark;
      if (wm === null) continue;
      const removed = rollUpExpired(this.store, p.model, this.config.retention, wm);
      if (removed > 0) this.log.log('info', 'rolled up old windows', { model: p.model.name, windows: removed });
    }
    this.store.pruneFiles(now - FILE_FORGET_MS);
    this.store.alerts.prune(now - this.config.retention.rollups_ms);
  }
}
