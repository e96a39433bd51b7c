// From YAML text to a frozen AgentConfig: parse, substitute ${ENV} in string values, check once
// against the schema, and report every problem together, in the order they appear in the file.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isAlias, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import {
  ConfigError, formatPath, readDuration, readSize, type ConfigIssue, type Path,
} from './errors.js';
import { agentConfigSchema, INVALID, type AgentConfigInput, type CheckContext, type Issue } from './schema.js';
import type { AgentConfig } from './types.js';

export interface ParseAgentConfigOptions {
  /** Where the text came from: relative paths in it resolve against this file's folder. */
  sourcePath: string;
  /** Variables for ${VAR} substitution; process.env when left out. */
  env?: NodeJS.ProcessEnv;
  /** Default for device.id; os.hostname() when left out. */
  hostname?: string;
}

/** Reads and checks the agent's YAML file. A missing or unreadable file is a ConfigError naming it. */
export function loadAgentConfig(file: string, env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const source = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(source, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const message =
      code === 'ENOENT' ? `config file not found: ${source}`
      : code === 'EISDIR' ? `config path is a folder, not a file: ${source}`
      : `cannot read config file ${source}: ${err instanceof Error ? err.message : String(err)}`;
    throw new ConfigError([{ field: '', message }], { code: 'EW_ERR_CONFIG_READ' });
  }
  return parseAgentConfig(text, { sourcePath: source, env });
}

/** Checks YAML text as if read from opts.sourcePath. Throws one ConfigError listing every problem. */
export function parseAgentConfig(text: string, opts: ParseAgentConfigOptions): AgentConfig {
  const source = path.resolve(opts.sourcePath);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const broken = [...doc.errors, ...doc.warnings];
  if (broken.length > 0) {
    const issues = broken.map((e) => ({
      field: '',
      message:
        e.code === 'MULTIPLE_DOCS'
          ? 'the file holds more than one YAML document (a "---" line); the agent reads one'
          : (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, ''),
      ...(e.linePos === undefined ? {} : { line: e.linePos[0].line }),
    }));
    throw new ConfigError(issues, { source, code: 'EW_ERR_CONFIG_SYNTAX' });
  }
  const raw: unknown = doc.toJS({ maxAliasCount: 100 });
  const substituted = substituteEnv(raw ?? {}, opts.env ?? process.env);
  const ctx: CheckContext = {
    issues: [],
    baseDir: path.dirname(source),
    hostname: opts.hostname ?? os.hostname(),
    fromEnv: substituted.fromEnv,
  };
  const checked = agentConfigSchema.check(substituted.value, [], ctx);
  // A field whose ${VAR} failed already has its error; its schema complaint would only repeat it.
  const issues = [
    ...substituted.issues,
    ...ctx.issues.filter((issue) => !substituted.failed.has(formatPath(issue.path))),
  ];
  if (checked === INVALID || issues.length > 0) {
    throw new ConfigError(inDocumentOrder(issues, doc, lineCounter), { source });
  }
  return deepFreeze({ source, ...checked });
}

/**
 * A config built in code, for tests and embedding: the same keys as the YAML file (models required,
 * everything else defaulted) through the same schema. Relative paths resolve against opts.baseDir
 * (the current folder by default); no ${VAR} substitution. `source` is "".
 */
export function defaultAgentConfig(
  overrides: AgentConfigInput,
  opts: { baseDir?: string; hostname?: string } = {},
): AgentConfig {
  const ctx: CheckContext = {
    issues: [],
    baseDir: path.resolve(opts.baseDir ?? '.'),
    hostname: opts.hostname ?? os.hostname(),
    fromEnv: new Set(),
  };
  const checked = agentConfigSchema.check(overrides, [], ctx);
  if (checked === INVALID || ctx.issues.length > 0) {
    throw new ConfigError(ctx.issues.map((issue) => ({ field: formatPath(issue.path), message: issue.message })));
  }
  return deepFreeze({ source: '', ...checked });
}

/** "1h30m" or a number of ms -> milliseconds; throws a ConfigError about `field` otherwise. */
export function parseDuration(value: string | number, field: string): number {
  const ms = readDuration(value);
  if (typeof ms === 'string') throw new ConfigError([{ field, message: ms }]);
  return ms;
}

/** "512KiB", "10GB" or a number of bytes -> bytes; throws a ConfigError about `field` otherwise. */
export function parseSize(value: string | number, field: string): number {
  const bytes = readSize(value);
  if (typeof bytes === 'string') throw new ConfigError([{ field, message: bytes }]);
  return bytes;
}

// --- ${ENV} substitution --------------------------------------------------------------------------

interface Substituted {
  value: unknown;
  issues: Issue[];
  /** Formatted paths of strings that had a substitution. */
  fromEnv: Set<string>;
  /** Formatted paths of strings whose substitution failed. */
  failed: Set<string>;
}

const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([^]*))?$/;

function substituteEnv(root: unknown, env: NodeJS.ProcessEnv): Substituted {
  const out: Substituted = { value: undefined, issues: [], fromEnv: new Set(), failed: new Set() };
  const walk = (value: unknown, at: Path): unknown => {
    if (Array.isArray(value)) return value.map((item: unknown, i) => walk(item, [...at, i]));
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, walk(item, [...at, key])]));
    }
    if (typeof value !== 'string' || !value.includes('$')) return value;
    const { text, used, problems } = expand(value, env);
    const key = formatPath(at);
    if (used) out.fromEnv.add(key);
    if (problems.length > 0) out.failed.add(key);
    for (const message of problems) out.issues.push({ path: at, message });
    return text;
  };
  out.value = walk(root, []);
  return out;
}

/** `${NAME}`, `${NAME:-default}` (the default also when NAME is empty, as in sh), `$${` for "${". */
function expand(value: string, env: NodeJS.ProcessEnv): { text: string; used: boolean; problems: string[] } {
  let text = '';
  let used = false;
  const problems: string[] = [];
  let i = 0;
  while (i < value.length) {
    const dollar = value.indexOf('$', i);
    if (dollar < 0) {
      text += value.slice(i);
      break;
    }
    text += value.slice(i, dollar);
    if (value.startsWith('$${', dollar)) {
      text += '${';
      i = dollar + 3;
      continue;
    }
    if (value[dollar + 1] !== '{') {
      text += '$';
      i = dollar + 1;
      continue;
    }
    const close = value.indexOf('}', dollar + 2);
    if (close < 0) {
      problems.push(`"\${" without a closing "}" in ${JSON.stringify(value)} (write $\${ for a literal "\${")`);
      text += value.slice(dollar);
      break;
    }
    const reference = value.slice(dollar, close + 1);
    const match = REFERENCE.exec(value.slice(dollar + 2, close));
    const name = match?.[1];
    if (match === null || name === undefined) {
      problems.push(
        `bad substitution ${JSON.stringify(reference)}; write \${NAME} or \${NAME:-default} (or $\${ for a literal "\${")`,
      );
    } else {
      const fallback = match[2];
      const set = env[name];
      if (set !== undefined && (set !== '' || fallback === undefined)) text += set;
      else if (fallback !== undefined) text += fallback;
      else problems.push(`environment variable ${name} is not set (give a default with \${${name}:-value})`);
      used = true;
    }
    i = close + 1;
  }
  return { text, used, problems };
}

// --- reporting ------------------------------------------------------------------------------------

function inDocumentOrder(issues: readonly Issue[], doc: Document, lines: LineCounter): ConfigIssue[] {
  return issues
    .map((issue, index) => ({ issue, index, offset: offsetOf(doc, issue.path) }))
    .sort((a, b) => (a.offset ?? Infinity) - (b.offset ?? Infinity) || a.index - b.index)
    .map(({ issue, offset }) => ({
      field: formatPath(issue.path),
      message: issue.message,
      ...(offset === undefined ? {} : { line: lines.linePos(offset).line }),
    }));
}

/** Where the key (or list item) at `at` starts in the text; its nearest existing parent if absent. */
function offsetOf(doc: Document, at: Path): number | undefined {
  let node: unknown = doc.contents;
  let offset = isNode(node) ? node.range?.[0] : undefined;
  for (const segment of at) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const keyOf = (key: unknown): string => (isScalar(key) ? String(key.value) : String(key));
      const pair = node.items.find((p) => keyOf(p.key) === String(segment));
      if (pair === undefined) break;
      offset = (isNode(pair.key) ? pair.key.range?.[0] : undefined) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item: unknown = node.items[segment];
      if (!isNode(item)) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
