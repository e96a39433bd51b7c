// A strict reader of the text exposition format 0.0.4 for the tests: it refuses what Prometheus
// would refuse or lint (a sample before its family's HELP and TYPE, a family split in two, a series
// twice, a bad name or escape), so the tests can assert on parsed families and values.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  /** The value as written. */
  text: string;
}

export interface ParsedFamily {
  help: string;
  type: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function parseValue(text: string, line: string): number {
  if (text === 'NaN') return NaN;
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (!/^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text)) throw new Error(`bad value ${JSON.stringify(text)} in ${line}`);
  return Number(text);
}

function parseLabels(body: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < body.length) {
    const eq = body.indexOf('=', i);
    const name = body.slice(i, eq);
    if (eq < 0 || !LABEL.test(name) || body[eq + 1] !== '"') throw new Error(`bad label at ${i} in ${line}`);
    let value = '';
    let j = eq + 2;
    for (; j < body.length && body[j] !== '"'; j++) {
      if (body[j] === '\\') {
        const next = body[++j];
        if (next === 'n') value += '\n';
        else if (next === '\\' || next === '"') value += next;
        else throw new Error(`bad escape \\${next} in ${line}`);
      } else if (body[j] === '\n') {
        throw new Error(`raw newline in ${line}`);
      } else value += body[j];
    }
    if (j >= body.length) throw new Error(`unterminated label value in ${line}`);
    if (Object.hasOwn(labels, name)) throw new Error(`label ${name} twice in ${line}`);
    labels[name] = value;
    i = j + 1;
    if (body[i] === ',') i++;
    else if (i < body.length) throw new Error(`expected , at ${i} in ${line}`);
  }
  return labels;
}

export function parseExposition(text: string): Map<string, ParsedFamily> {
  if (text !== '' && !text.endsWith('\n')) throw new Error('output does not end with a newline');
  const families = new Map<string, ParsedFamily>();
  const series = new Set<string>();
  let current: string | undefined;
  let pendingHelp: { name: string; help: string } | undefined;
  for (const line of text.split('\n').slice(0, -1)) {
    const help = /^# HELP (\S+) (.*)$/.exec(line);
    if (help) {
      if (families.has(help[1]!)) throw new Error(`family ${help[1]} appears twice`);
      pendingHelp = { name: help[1]!, help: help[2]! };
      continue;
    }
    const type = /^# TYPE (\S+) (counter|gauge|summary|histogram|untyped)$/.exec(line);
    if (type) {
      if (!pendingHelp || pendingHelp.name !== type[1]) throw new Error(`TYPE of ${type[1]} without its HELP just before`);
      families.set(type[1]!, { help: pendingHelp.help, type: type[2]!, samples: [] });
      current = type[1];
      pendingHelp = undefined;
      continue;
    }
    if (line.startsWith('#')) throw new Error(`unexpected comment ${line}`);
    const m = /^([^{\s]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`bad sample line ${JSON.stringify(line)}`);
    const name = m[1]!;
    if (!NAME.test(name)) throw new Error(`bad metric name ${name}`);
    if (name !== current) throw new Error(`sample ${name} outside its family block (current ${current})`);
    const key = `${name}{${m[2] ?? ''}}`;
    if (series.has(key)) throw new Error(`series twice: ${key}`);
    series.add(key);
    families.get(name)!.samples.push({ name, labels: parseLabels(m[2] ?? '', line), value: parseValue(m[3]!, line), text: m[3]! });
  }
  return families;
}

/** The one sample of `family` whose labels include `labels`; throws unless exactly one matches. */
export function sampleOf(families: Map<string, ParsedFamily>, family: string, labels: Record<string, string> = {}): Sample {
  const f = families.get(family);
  if (!f) throw new Error(`no family ${family}`);
  const hits = f.samples.filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v) && Object.keys(s.labels).length >= Object.keys(labels).length);
  const exact = hits.filter((s) => Object.keys(s.labels).length === Object.keys(labels).length);
  const pick = exact.length === 1 ? exact : hits;
  if (pick.length !== 1) throw new Error(`${pick.length} samples of ${family} match ${JSON.stringify(labels)}`);
  return pick[0]!;
}
