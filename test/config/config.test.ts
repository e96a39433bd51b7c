import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ConfigError, defaultAgentConfig, formatDuration, loadAgentConfig, parseAgentConfig, parseDuration, parseSize,
  type AgentConfig,
} from '../../agent/config/index.js';
import { defaultAlertRules } from '../../agent/alerts/index.js';
import { DEFAULT_DRIFT_RULE } from '../../agent/drift/index.js';
import { DEFAULT_SYNC, DEFAULT_SYSTEM } from '../helpers/config.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const MINIMAL_FILE = path.join(here, 'fixtures', 'minimal.yaml');
const EXAMPLE_FILE = path.join(here, '..', '..', 'config', 'agent.example.yaml');
const SOURCE = '/etc/edgewatch/agent.yaml';

const MODEL = `models:
  - name: fraud
    task: classification
    logs: ["./logs/*.jsonl"]
`;

function parse(text: string, env: NodeJS.ProcessEnv = {}): AgentConfig {
  return parseAgentConfig(text, { sourcePath: SOURCE, env, hostname: 'edge-host' });
}

/** The ConfigError that parsing `text` throws; fails the test when it does not throw one. */
function errorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError, but the config was accepted');
}

const problems = (text: string, env: NodeJS.ProcessEnv = {}): string[] =>
  errorOf(() => parse(text, env)).issues.map((i) => `${i.field}: ${i.message}`);

/** A model with one extra option line, e.g. `window: 7s`. */
const withModelOption = (line: string): string => `${MODEL}    ${line}\n`;

describe('the minimal file', () => {
  it('is accepted, with every default filled in and paths resolved against its folder', () => {
    const config = loadAgentConfig(MINIMAL_FILE, {});
    const dir = path.dirname(MINIMAL_FILE);
    expect(config).toEqual({
      source: MINIMAL_FILE,
      device: { id: 'dev-1', site: 'lab', tags: [] },
      data_dir: path.join(dir, 'data'),
      models: [
        {
          name: 'fraud',
          task: 'classification',
          logs: [path.join(dir, 'logs', '*.jsonl')],
          format: 'jsonl',
          csv: { delimiter: ',' },
          window_ms: 60_000,
          allowed_lateness_ms: 60_000,
          start_position: 'start',
          max_line_bytes: 1024 * 1024,
          categorical_cap: 256,
          segment_cap: 64,
          fields: {
            ts: 'ts', model: 'model', model_version: 'model_version', request_id: 'request_id',
            features: 'features', prediction: 'prediction', confidence: 'confidence',
            probabilities: 'probabilities', label: 'label', latency_ms: 'latency_ms', status: 'status',
            error: 'error',
          },
          features: {},
          infer_features: true,
          segments: [],
          baseline_learn: null,
          drift: { rule: { ...DEFAULT_DRIFT_RULE }, features: {} },
          labels: { delayed: false, horizon_ms: 86_400_000, max_pending: 1_000_000, max_pending_bytes: 256 * 1024 * 1024 },
        },
      ],
      ingest: {
        poll_interval_ms: 250,
        read_chunk_bytes: 1024 * 1024,
        commit_max_records: 10_000,
        commit_interval_ms: 1000,
        rotate_wait_ms: 5000,
        idle_close_ms: 300_000,
        close_windows_on_shutdown: false,
      },
      retention: { windows_ms: 7 * 86_400_000, rollups_ms: 90 * 86_400_000 },
      system: DEFAULT_SYSTEM,
      metrics: { listen: null },
      alerts: defaultAlertRules(),
      sync: DEFAULT_SYNC,
    } satisfies AgentConfig);
  });

  it('defaults device.id to the hostname and site to "default"', () => {
    expect(parse(MODEL).device).toEqual({ id: 'edge-host', site: 'default', tags: [] });
  });

  it('says so when the hostname is not a valid device id', () => {
    const err = errorOf(() => parseAgentConfig(MODEL, { sourcePath: SOURCE, env: {}, hostname: 'my laptop' }));
    expect(err.field).toBe('device.id');
    expect(err.message).toContain('got "my laptop"');
    expect(err.message).toContain('(this is the default; set device.id)');
  });

  it('is frozen all the way down', () => {
    const config = parse(`${MODEL}    features: { age: numeric }\n    segments: [features.region]\n`);
    const model = config.models[0];
    if (model === undefined) throw new Error('no model');
    for (const part of [config, config.device, config.ingest, config.retention, config.models, model, model.logs,
      model.fields, model.features, model.segments, model.csv]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
    expect(() => {
      (model as { window_ms: number }).window_ms = 1;
    }).toThrow(TypeError);
    expect(() => (model.logs as string[]).push('x')).toThrow(TypeError);
  });
});

describe('the example file', () => {
  it('validates, and the defaults its comments state are the real ones', () => {
    const example = loadAgentConfig(EXAMPLE_FILE, {});
    const defaults = parse(MODEL);
    expect(example.device).toEqual({ id: 'dev-1', site: 'lab', tags: [] });
    expect(example.ingest).toEqual(defaults.ingest);
    expect(example.retention).toEqual(defaults.retention);
    // The example's system section states the defaults and adds what has none.
    expect(example.system).toEqual({
      ...defaults.system,
      mounts: { models: '/opt/models' },
      processes: [
        { name: 'triton', match: { process_name: 'tritonserver' } },
        { name: 'scorer', match: { systemd_unit: 'nightly-scoring.service' } },
      ],
      containers: { socket: '/var/run/docker.sock', names: ['triton'] },
    });
    expect(defaults.system).toEqual(DEFAULT_SYSTEM);
    expect(example.metrics).toEqual({ listen: '127.0.0.1:9464' });
    expect(defaults.metrics).toEqual({ listen: null });
    const [fraud, energy] = example.models;
    const plain = defaults.models[0];
    if (fraud === undefined || energy === undefined || plain === undefined) throw new Error('models missing');
    const { name, task, logs, features, segments, baseline_learn, drift, labels, ...options } = fraud;
    const { name: _n, task: _t, logs: _l, features: _f, segments: _s, baseline_learn: _b, drift: _d, labels: plainLabels, ...defaultOptions } = plain;
    // The example turns delayed labels on; every other labels option it shows is the default.
    expect(plainLabels.delayed).toBe(false);
    expect(labels).toEqual({ ...plainLabels, delayed: true });
    expect(drift).toEqual({ rule: plain.drift.rule, features: { merchant_category: { ignore: false, rule: { js_floor: 0.05 } } } });
    expect(options).toEqual(defaultOptions);
    expect(plain.baseline_learn).toBeNull();
    expect({ name, task, features, segments, baseline_learn }).toEqual({
      name: 'fraud', task: 'classification', features: { amount: 'numeric', merchant_category: 'categorical' },
      segments: ['features.region'], baseline_learn: { records: 10_000, duration_ms: null },
    });
    expect(logs).toEqual([path.join(path.dirname(EXAMPLE_FILE), 'logs', 'fraud-*.jsonl')]);
    expect(energy).toMatchObject({ format: 'csv', csv: { delimiter: ';' }, window_ms: 300_000, allowed_lateness_ms: 300_000 });
    // Two example rules, then the built-ins exactly as their defaults.
    expect(example.alerts.map((r) => r.name)).toEqual(['fraud_p95_latency', 'energy_mae', ...defaults.alerts.map((r) => r.name)]);
    expect(example.alerts.slice(2)).toEqual(defaults.alerts);
    expect(example.alerts[0]).toEqual({
      name: 'fraud_p95_latency', metric: 'latency_ms.p95', op: '>', threshold: 250, for_ms: 300_000, severity: 'critical',
      labels: { team: 'payments' }, model: 'fraud', builtin: false,
    });
  });

  it('takes device.id from the environment when set', () => {
    expect(loadAgentConfig(EXAMPLE_FILE, { EDGEWATCH_DEVICE_ID: 'gw-7' }).device.id).toBe('gw-7');
  });
});

describe('learned baselines', () => {
  it('take the first N records or the first T of each version, one of the two', () => {
    expect(parse(withModelOption('baseline: {learn: {records: 500}}')).models[0]?.baseline_learn).toEqual({ records: 500, duration_ms: null });
    expect(parse(withModelOption('baseline: {learn: {duration: 1h}}')).models[0]?.baseline_learn).toEqual({ records: null, duration_ms: 3_600_000 });
    expect(problems(withModelOption('baseline: {learn: {records: 5, duration: 1h}}'))[0]).toContain('models[0].baseline.learn: give exactly one of records');
    expect(problems(withModelOption('baseline: {learn: {}}'))[0]).toContain('give exactly one of records');
    expect(problems(withModelOption('baseline: {learn: {records: 0}}'))[0]).toContain('models[0].baseline.learn.records');
  });
});

describe('drift rule', () => {
  it("defaults to the drift stage's own default rule, and takes per-model and per-feature overrides", () => {
    expect(parse(MODEL).models[0]?.drift).toEqual({ rule: { ...DEFAULT_DRIFT_RULE }, features: {} });
    const m = parse(withModelOption('drift: {ks_alpha: 0.01, features: {amount: {wasserstein_floor: 0.2}, request_no: {ignore: true}}}')).models[0];
    expect(m?.drift.rule.ks_alpha).toBe(0.01);
    expect(m?.drift.rule.js_floor).toBe(DEFAULT_DRIFT_RULE.js_floor);
    expect(m?.drift.features).toEqual({ amount: { ignore: false, rule: { wasserstein_floor: 0.2 } }, request_no: { ignore: true, rule: {} } });
    expect(problems(withModelOption('drift: {ks_alpha: 2}'))[0]).toContain('models[0].drift.ks_alpha');
    expect(problems(withModelOption('drift: {features: {a: {dataset_share: 0.1}}}'))[0]).toContain('models[0].drift.features.a.dataset_share: unknown key');
  });
});

describe('delayed labels', () => {
  it('are off by default, with a 24 h horizon, and take bounds in records and bytes', () => {
    expect(parse(MODEL).models[0]?.labels).toEqual({ delayed: false, horizon_ms: 86_400_000, max_pending: 1_000_000, max_pending_bytes: 256 * 1024 * 1024 });
    const m = parse(withModelOption('labels: {delayed: true, horizon: 2h, max_pending: 500, max_pending_size: 1MiB}')).models[0];
    expect(m?.labels).toEqual({ delayed: true, horizon_ms: 7_200_000, max_pending: 500, max_pending_bytes: 1024 * 1024 });
    expect(problems(withModelOption('labels: {horizon: soon}'))[0]).toContain('models[0].labels.horizon');
    expect(problems(withModelOption('labels: {max_pending: 0}'))[0]).toContain('models[0].labels.max_pending');
    expect(problems(`${withModelOption('labels: {delayed: true, horizon: 10d}')}retention: {windows: 7d}\n`)).toEqual([
      'models[0].labels.horizon: 10d is longer than retention.windows (7d); a late label could no longer revise its window, so keep it at most that long',
    ]);
  });
});

describe('system section', () => {
  it('takes processes by exactly one of name, pid file or unit, and refuses names that break metric names', () => {
    const withSystem = (yaml: string) => `${MODEL}system:\n${yaml}`;
    const cfg = parse(withSystem('  interval: 30s\n  processes: [{name: tri, pid_file: run/t.pid}]\n'));
    expect(cfg.system.interval_ms).toBe(30_000);
    expect(cfg.system.processes).toEqual([{ name: 'tri', match: { pid_file: path.join(path.dirname(SOURCE), 'run/t.pid') } }]);
    expect(problems(withSystem('  processes: [{name: a, process_name: x, pid_file: /p}]\n'))[0]).toContain('system.processes[0]: give exactly one of');
    expect(problems(withSystem('  processes: [{name: a.b, process_name: x}]\n'))[0]).toContain('system.processes[0].name');
    expect(problems(withSystem('  processes: [{name: a, process_name: x}, {name: a, process_name: y}]\n'))[0]).toContain('already watched');
    expect(problems(withSystem('  mounts: {io: /mnt}\n'))[0]).toContain('system.mounts.io');
    expect(problems(withSystem('  processes: [{name: a, systemd_unit: ".."}]\n'))[0]).toContain('system.processes[0].systemd_unit');
    expect(problems(withSystem('  containers: {names: [a.b, a_b]}\n'))[0]).toContain('both become container.a_b');
    expect(problems(withSystem('  interval: 100ms\n'))[0]).toContain('system.interval');
    expect(problems(`${MODEL}metrics: {listen: "localhost"}\n`)[0]).toContain('metrics.listen');
  });
});

describe('unknown keys', () => {
  it('name the full path and hint at the closest valid key', () => {
    expect(problems(withModelOption('windw: 60s'))).toEqual(['models[0].windw: unknown key; did you mean "window"?']);
    expect(problems(`${MODEL}ingest:\n  pollInterval: 1s\n`)).toEqual([
      'ingest.pollInterval: unknown key; did you mean "poll_interval"?',
    ]);
    expect(problems(withModelOption('lateness: 5s'))).toEqual([
      'models[0].lateness: unknown key; did you mean "allowed_lateness"?',
    ]);
    expect(problems(withModelOption('fields: { lable: y }'))).toEqual([
      'models[0].fields.lable: unknown key; did you mean "label"?',
    ]);
  });

  it('list the valid keys when none is close', () => {
    expect(problems(`${MODEL}telemetry: on\n`)).toEqual([
      'telemetry: unknown key; expected one of device, data_dir, ingest, retention, system, metrics, models, alerts, builtin_alerts, sync',
    ]);
  });
});

describe('wrong values', () => {
  it.each([
    ['format: parquet', 'models[0].format: got "parquet", expected one of jsonl, csv'],
    ['start_position: End', 'models[0].start_position: got "End", expected one of start, end'],
    ['categorical_cap: 0', 'models[0].categorical_cap: got 0, expected a whole number from 1 to 100000'],
    ['categorical_cap: 100001', 'models[0].categorical_cap: got 100001, expected a whole number from 1 to 100000'],
    ['segment_cap: 2.5', 'models[0].segment_cap: got 2.5, expected a whole number from 1 to 100000'],
    ['infer_features: yes', 'models[0].infer_features: got "yes", expected true or false'],
    ['csv: { delimiter: ";;" }', 'models[0].csv.delimiter: got ";;", expected exactly one character, not a quote or line break'],
    ['csv: { delimiter: \\t }', 'models[0].csv.delimiter: got "\\\\t", expected exactly one character (for a tab write "\\t" in double quotes)'],
    ['features: { age: number }', 'models[0].features.age: got "number", expected one of numeric, categorical'],
    ['segments: ["features..region"]', 'models[0].segments[0]: got "features..region", expected a dot path such as "features.region"'],
    ['segments: [a, a]', 'models[0].segments[1]: "a" is listed twice (also at [0])'],
    ['max_line_size: 100', 'models[0].max_line_size: got 100, expected at least 1KiB'],
    ['allowed_lateness: -1s', 'models[0].allowed_lateness: got "-1s", expected a duration such as "500ms", "10s", "1m", "1h", "2d", "1h30m", or a whole number of milliseconds'],
  ])('%s', (line, expected) => {
    expect(problems(withModelOption(line))).toEqual([expected]);
  });

  it('names the task choices', () => {
    expect(problems('models:\n  - { name: a, task: classify, logs: [x.jsonl] }\n')).toEqual([
      'models[0].task: got "classify", expected one of classification, regression',
    ]);
  });

  it('names ids and sites that cannot be topic levels, and hints to quote numbers', () => {
    expect(problems(`device:\n  id: "dev 1"\n  site: 42\n${MODEL}`)).toEqual([
      'device.id: got "dev 1", expected 1-64 characters of A-Z a-z 0-9 . _ - (it becomes an MQTT topic level)',
      'device.site: got 42, expected 1-64 characters of A-Z a-z 0-9 . _ - (it becomes an MQTT topic level) (put the value in quotes)',
    ]);
    expect(problems(`device: { id: ${'x'.repeat(65)} }\n${MODEL}`)[0]).toMatch(/^device\.id: got "x{65}"/);
  });

  it('requires models, each with name, task and logs', () => {
    expect(problems('data_dir: ./data\n')).toEqual([
      'models: required; expected a non-empty list of models (each with at least name, task and logs)',
    ]);
    expect(problems('models: []\n')).toEqual([
      'models: got an empty list, expected a non-empty list of models (each with at least name, task and logs)',
    ]);
    expect(problems('models:\n  - name: fraud\n')).toEqual([
      'models[0].task: required; expected one of classification, regression',
      'models[0].logs: required; expected a non-empty list of log file globs',
    ]);
    expect(problems('models:\n  - { name: a, task: regression, logs: ./x.jsonl }\n')).toEqual([
      'models[0].logs: got "./x.jsonl", expected a non-empty list of log file globs',
    ]);
  });

  it('reads an empty section as defaults but an empty single value as an error', () => {
    const config = parse(`ingest:\nretention:\n${MODEL}    segments:\n`);
    expect(config.ingest.poll_interval_ms).toBe(250);
    expect(config.models[0]?.segments).toEqual([]);
    expect(problems(withModelOption('window:'))).toEqual([
      'models[0].window: got an empty value, expected a duration such as "500ms", "10s", "1m", "1h", "2d", "1h30m", or a whole number of milliseconds',
    ]);
  });

  it('keeps rollups at least as long as windows', () => {
    expect(problems(`retention: { windows: 7d, rollups: 1d }\n${MODEL}`)).toEqual([
      'retention.rollups: 1d is shorter than retention.windows (7d); rollups are built from windows, so keep them at least as long',
    ]);
  });
});

describe('several problems', () => {
  const text = `models:
  - name: fraud
    task: classify
    logs: ["./a/*.jsonl"]
    windw: 60s
device:
  id: "bad id"
ingest:
  poll_interval: soon
`;

  it('are all reported, one per line, in document order, with their lines', () => {
    const err = errorOf(() => parse(text));
    expect(err.code).toBe('EW_ERR_CONFIG_INVALID');
    expect(err.field).toBe('models[0].task');
    expect(err.issues.map((i) => [i.field, i.line])).toEqual([
      ['models[0].task', 3],
      ['models[0].windw', 5],
      ['device.id', 7],
      ['ingest.poll_interval', 9],
    ]);
    const lines = err.message.split('\n');
    expect(lines[0]).toBe(`config ${SOURCE}: 4 problems`);
    expect(lines.slice(1)).toEqual([
      'models[0].task: got "classify", expected one of classification, regression (line 3)',
      'models[0].windw: unknown key; did you mean "window"? (line 5)',
      'device.id: got "bad id", expected 1-64 characters of A-Z a-z 0-9 . _ - (it becomes an MQTT topic level) (line 7)',
      'ingest.poll_interval: got "soon", expected a duration such as "500ms", "10s", "1m", "1h", "2d", "1h30m", or a whole number of milliseconds (line 9)',
    ]);
  });
});

describe('${ENV} substitution', () => {
  const text = `device:
  id: \${DEVICE_ID}
  site: \${SITE:-plant-1}
data_dir: \${DATA:-/var/lib/edgewatch}
ingest:
  commit_records: \${COMMIT_RECORDS}
  close_windows_on_shutdown: \${CLOSE:-true}
${MODEL}    window: \${WINDOW:-5m}
    fields: { label: "$\${literal}" }
`;

  it('replaces variables, uses defaults when unset or empty, and keeps $${ as a literal', () => {
    const config = parse(text, { DEVICE_ID: 'gw-3', DATA: '', COMMIT_RECORDS: '500' });
    expect(config.device).toEqual({ id: 'gw-3', site: 'plant-1', tags: [] });
    expect(config.data_dir).toBe('/var/lib/edgewatch');
    expect(config.ingest.commit_max_records).toBe(500);
    expect(config.ingest.close_windows_on_shutdown).toBe(true);
    expect(config.models[0]?.window_ms).toBe(300_000);
    expect(config.models[0]?.fields.label).toBe('${literal}');
  });

  it('names the variable and the field when a variable is unset, without a second complaint', () => {
    expect(problems(text, { SITE: 'lab', COMMIT_RECORDS: 'many' })).toEqual([
      'device.id: environment variable DEVICE_ID is not set (give a default with ${DEVICE_ID:-value})',
      'ingest.commit_records: got "many", expected a whole number from 1 to 10000000',
    ]);
  });

  it('refuses a malformed reference', () => {
    expect(problems(`device: { id: "\${1x}" }\n${MODEL}`)).toEqual([
      'device.id: bad substitution "${1x}"; write ${NAME} or ${NAME:-default} (or $${ for a literal "${")',
    ]);
    expect(problems(`device: { id: "a\${B" }\n${MODEL}`)).toEqual([
      'device.id: "${" without a closing "}" in "a${B" (write $${ for a literal "${")',
    ]);
  });

  it('leaves a lone $ alone and never substitutes keys', () => {
    const config = parse(`data_dir: "/a$b/$"\n${MODEL}    fields: { label: "$$x" }\n`);
    expect(config.data_dir).toBe('/a$b/$');
    expect(config.models[0]?.fields.label).toBe('$$x');
    expect(problems(`\${X}: 1\n${MODEL}`, { X: 'device' })[0]).toMatch(/^\["\$\{X\}"\]: unknown key/);
  });
});

describe('durations and sizes', () => {
  it.each([
    ['500ms', 500], ['10s', 10_000], ['1m', 60_000], ['1h', 3_600_000], ['2d', 172_800_000],
    ['1h30m', 5_400_000], ['1d2h3m4s5ms', 93_784_005], ['1.5s', 1500], [' 10s ', 10_000], [0, 0], [250, 250],
  ] as const)('duration %j -> %d ms', (text, ms) => {
    expect(parseDuration(text, 'x')).toBe(ms);
  });

  it.each(['', '10', '10 s', '10S', '1w', 's', '-5s', '30m1h', '1m1m', '0.0001s', '1.5', 'soon', '10s!'] as const)(
    'duration %j is refused with the accepted formats', (text) => {
      const err = errorOf(() => parseDuration(text, 'ingest.poll_interval'));
      expect(err.field).toBe('ingest.poll_interval');
      expect(err.message).toMatch(/^ingest\.poll_interval: got .*, expected a duration such as "500ms", "10s", "1m", "1h", "2d", "1h30m", or a whole number of milliseconds/);
    },
  );

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('duration number %d is refused', (n) => {
    expect(() => parseDuration(n, 'w')).toThrow(/whole and not negative/);
  });

  it('explains units out of order', () => {
    expect(() => parseDuration('30m1h', 'w')).toThrow('(units go from largest to smallest, each once)');
  });

  it('adds up any combination of units, and formats back to the same number', () => {
    const units = [86_400_000, 3_600_000, 60_000, 1000, 1];
    const names = ['d', 'h', 'm', 's', 'ms'];
    fc.assert(
      fc.property(fc.array(fc.option(fc.nat(1000), { nil: undefined }), { minLength: 5, maxLength: 5 }), (amounts) => {
        const parts = amounts.map((a, i) => (a === undefined ? '' : `${a}${names[i] ?? ''}`)).join('');
        fc.pre(parts !== '');
        const expected = amounts.reduce<number>((sum, a, i) => sum + (a ?? 0) * (units[i] ?? 0), 0);
        expect(parseDuration(parts, 'w')).toBe(expected);
        expect(parseDuration(formatDuration(expected), 'w')).toBe(expected);
      }),
      { seed: 20_240_601, numRuns: 300 },
    );
  });

  it.each([
    ['1MiB', 1_048_576], ['512KiB', 524_288], ['1MB', 1_000_000], ['10GB', 10_000_000_000], ['1 GiB', 1_073_741_824],
    ['1.5KiB', 1536], ['100B', 100], ['2TiB', 2 * 1024 ** 4], [4096, 4096], [0, 0],
  ] as const)('size %j -> %d bytes', (text, bytes) => {
    expect(parseSize(text, 'x')).toBe(bytes);
  });

  it.each(['', '1', '1mb', '1Mib', '1 MiB ok', '-1KB', '0.1B', '1.5', 'lots', '1K'] as const)(
    'size %j is refused with the accepted formats', (text) => {
      expect(() => parseSize(text, 'ingest.read_chunk')).toThrow(
        /^ingest\.read_chunk: got .*, expected a size such as "512KiB", "1MiB", "1MB", "10GB"/,
      );
    },
  );

  it('converts the YAML values', () => {
    const config = parse(`ingest: { read_chunk: 64KiB, poll_interval: 1500, rotate_wait: 0 }\n${MODEL}    max_line_size: 2MB\n`);
    expect(config.ingest).toMatchObject({ read_chunk_bytes: 65_536, poll_interval_ms: 1500, rotate_wait_ms: 0 });
    expect(config.models[0]?.max_line_bytes).toBe(2_000_000);
  });
});

describe('the window', () => {
  it.each([['1s', 1000], ['90s', 90_000], ['15m', 900_000], ['1h', 3_600_000], ['1d', 86_400_000]] as const)(
    '%s divides a day and is accepted', (window, ms) => {
      expect(parse(withModelOption(`window: ${window}`)).models[0]?.window_ms).toBe(ms);
    },
  );

  it.each(['7s', '7m', '2d', '1s300ms'])('%s does not divide a day and is refused, saying why', (window) => {
    const [message] = problems(withModelOption(`window: ${window}`));
    expect(message).toContain(`models[0].window: got "${window}", expected a length that divides 1 day evenly`);
    expect(message).toContain('so that windows line up across devices');
  });

  it('is at least 1s', () => {
    expect(problems(withModelOption('window: 500ms'))).toEqual(['models[0].window: got "500ms", expected at least 1s']);
  });

  it('sets the allowed lateness to its own length unless given', () => {
    expect(parse(withModelOption('window: 5m')).models[0]?.allowed_lateness_ms).toBe(300_000);
    expect(parse(`${withModelOption('window: 5m')}    allowed_lateness: 0\n`).models[0]?.allowed_lateness_ms).toBe(0);
  });
});

describe('paths', () => {
  it('resolve relative data_dir and logs against the config file folder, keeping absolute ones', () => {
    const config = parse(`data_dir: ../state
models:
  - { name: a, task: regression, logs: ["logs/a-*.csv", "/var/log/a/*.csv", "./x/../b.csv"] }
`);
    expect(config.data_dir).toBe('/etc/state');
    expect(config.models[0]?.logs).toEqual(['/etc/edgewatch/logs/a-*.csv', '/var/log/a/*.csv', '/etc/edgewatch/b.csv']);
  });

  it('refuses ~, which is not expanded', () => {
    expect(problems(`data_dir: ~/edgewatch\n${MODEL}`)).toEqual([
      'data_dir: got "~/edgewatch"; "~" is not expanded, write an absolute path or ${HOME}/...',
    ]);
  });
});

describe('models', () => {
  it('must have unique names', () => {
    expect(problems(`models:
  - { name: fraud, task: classification, logs: [a.jsonl] }
  - { name: fraud, task: regression, logs: [b.jsonl] }
`)).toEqual(['models[1].name: "fraud" is already the name of models[0]; model names must be unique']);
  });

  it('may not share a glob (compared after resolving it)', () => {
    expect(problems(`models:
  - { name: a, task: classification, logs: ["./logs/*.jsonl"] }
  - { name: b, task: regression, logs: ["other.jsonl", "logs/*.jsonl"] }
`)).toEqual([
      'models[1].logs[1]: "/etc/edgewatch/logs/*.jsonl" is also listed by models[0].logs[0]; a log file belongs to one model',
    ]);
    expect(problems('models:\n  - { name: a, task: regression, logs: [x.csv, ./x.csv] }\n')).toEqual([
      'models[0].logs[1]: "./x.csv" is listed twice (also at [0])',
    ]);
  });
});

describe('reading files', () => {
  it('names a missing file', () => {
    const missing = path.join(here, 'fixtures', 'no-such.yaml');
    const err = errorOf(() => loadAgentConfig(missing, {}));
    expect(err.code).toBe('EW_ERR_CONFIG_READ');
    expect(err.message).toBe(`config file not found: ${missing}`);
  });

  it('reports YAML syntax errors and duplicate keys with their lines', () => {
    const broken = errorOf(() => parse('models: [\n  {name: a\n'));
    expect(broken.code).toBe('EW_ERR_CONFIG_SYNTAX');
    expect(broken.issues[0]?.line).toBeGreaterThanOrEqual(1);
    const duplicate = errorOf(() => parse(`data_dir: a\ndata_dir: b\n${MODEL}`));
    expect(duplicate.code).toBe('EW_ERR_CONFIG_SYNTAX');
    expect(duplicate.issues[0]).toMatchObject({ line: 2 });
    expect(duplicate.message).toMatch(/unique/);
    expect(errorOf(() => parse(`${MODEL}---\n${MODEL}`)).issues).toEqual([
      { field: '', message: 'the file holds more than one YAML document (a "---" line); the agent reads one', line: 5 },
    ]);
  });

  it('accepts an empty file only to say models are required', () => {
    expect(problems('')).toEqual(['models: required; expected a non-empty list of models (each with at least name, task and logs)']);
    expect(problems('- 1\n')).toEqual([': got a list, expected a mapping with keys device, data_dir, ingest, retention, system, metrics, models, alerts, builtin_alerts, sync']);
  });
});

describe('defaultAgentConfig', () => {
  it('builds through the same schema, resolving paths against baseDir', () => {
    const config = defaultAgentConfig(
      { data_dir: 'state', models: [{ name: 'm', task: 'regression', logs: ['in/*.jsonl'], window: '5m' }], ingest: { commit_records: 5 } },
      { baseDir: '/srv/edge', hostname: 'h1' },
    );
    expect(config.source).toBe('');
    expect(config.device).toEqual({ id: 'h1', site: 'default', tags: [] });
    expect(config.data_dir).toBe('/srv/edge/state');
    expect(config.models[0]).toMatchObject({ logs: ['/srv/edge/in/*.jsonl'], window_ms: 300_000, allowed_lateness_ms: 300_000 });
    expect(config.ingest.commit_max_records).toBe(5);
    expect(Object.isFrozen(config.models)).toBe(true);
  });

  it('refuses what the file would refuse', () => {
    const err = errorOf(() => defaultAgentConfig({ models: [{ name: 'm', task: 'regression', logs: ['a'], window: '7s' }] }, { hostname: 'h' }));
    expect(err.field).toBe('models[0].window');
    expect(err.message).toMatch(/^models\[0\]\.window: got "7s", expected a length that divides 1 day evenly/);
  });
});
