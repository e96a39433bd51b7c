// CSV with a header line (RFC 4180, one physical line per row). Header names are dot paths, so a
// row becomes the same nested object a JSONL line would be, and the JSONL mapping applies unchanged.

import type { ModelConfig } from '../config/types.js';
import { parseNumber } from './feature-types.js';
import type { LineParser } from './index.js';
import { compilePath, reject, type Path, type RecordMapper } from './mapping.js';
import type { ParseResult } from './types.js';

const QUOTE = 34;
const UNTERMINATED = -1;
const TEXT_AFTER_QUOTE = -2;

/**
 * Splits one line into `out` (cleared first). Returns the cell count, UNTERMINATED when a quoted cell
 * never closes, or TEXT_AFTER_QUOTE when a closing quote is followed by more than a delimiter. A quote
 * inside an unquoted cell is kept as text, as most writers and readers do.
 */
export function splitCsvLine(line: string, delimiter: string, out: string[]): number {
  out.length = 0;
  const end = line.length;
  let pos = 0;
  for (;;) {
    if (line.charCodeAt(pos) === QUOTE) {
      let value = '';
      let from = pos + 1;
      for (;;) {
        const q = line.indexOf('"', from);
        if (q < 0) return UNTERMINATED;
        if (line.charCodeAt(q + 1) === QUOTE) {
          value += line.slice(from, q + 1);
          from = q + 2;
          continue;
        }
        value += line.slice(from, q);
        pos = q + 1;
        break;
      }
      out.push(value);
      if (pos === end) return out.length;
      if (!line.startsWith(delimiter, pos)) return TEXT_AFTER_QUOTE;
      pos += delimiter.length;
    } else {
      const d = line.indexOf(delimiter, pos);
      if (d < 0) {
        out.push(line.slice(pos));
        return out.length;
      }
      out.push(line.slice(pos, d));
      pos = d + delimiter.length;
    }
  }
}

function isDigitAt(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= 48 && c <= 57;
}

/**
 * A cell's value: "" is null, a number when it reads as one, else the text. Two kinds of numeric-
 * looking text stay text because a number would lose what they say: a leading zero ("02134", a zip
 * code) and integers too long for a double (request ids).
 */
export function csvCellValue(text: string): string | number | null {
  if (text.length === 0) return null;
  const n = parseNumber(text);
  if (n === undefined) return text;
  let i = 0;
  while (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9) i++;
  const sign = text.charCodeAt(i);
  if (sign === 45 || sign === 43) i++;
  if (text.charCodeAt(i) === 48 && isDigitAt(text, i + 1)) return text;
  const unsafeInteger = Number.isFinite(n) && Math.abs(n) > Number.MAX_SAFE_INTEGER;
  if (unsafeInteger && text.indexOf('.') < 0 && text.indexOf('e') < 0 && text.indexOf('E') < 0) return text;
  return n;
}

/** One step of the row's shape: a key, then either a column's cell or nested keys. */
interface ShapeNode {
  key: string;
  column: number;
  children: ShapeNode[] | null;
}

function startsWithPath(path: Path, prefix: Path): boolean {
  if (prefix.length > path.length) return false;
  for (let i = 0; i < prefix.length; i++) if (path[i] !== prefix[i]) return false;
  return true;
}

/** Inserts a column at a path. Where a name is both a value and a parent ("a" and "a.b"), the parent wins. */
function insert(nodes: ShapeNode[], path: Path, column: number): void {
  let level = nodes;
  for (let depth = 0; depth < path.length; depth++) {
    const key = path[depth]!;
    const leaf = depth === path.length - 1;
    let node = level.find((n) => n.key === key);
    if (node === undefined) {
      node = { key, column: leaf ? column : -1, children: leaf ? null : [] };
      level.push(node);
    } else if (leaf) {
      if (node.children === null) node.column = column;
      return;
    } else if (node.children === null) {
      node.children = [];
      node.column = -1;
    }
    if (leaf) return;
    level = node.children!;
  }
}

function build(nodes: readonly ShapeNode[], cells: readonly string[]): Record<string, unknown> {
  const obj: Record<string, unknown> = {};
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    obj[node.key] = node.children === null ? csvCellValue(cells[node.column]!) : build(node.children, cells);
  }
  return obj;
}

interface CsvHeader {
  width: number;
  shape: ShapeNode[];
}

/**
 * Reads the header line into the row shape. When no column is at or under the features path, every
 * column that no other field or segment uses becomes a feature under its full header name.
 */
export function readCsvHeader(model: ModelConfig, line: string): CsvHeader | string {
  const names: string[] = [];
  const text = line.charCodeAt(0) === 0xfeff ? line.slice(1) : line;
  const count = splitCsvLine(text, model.csv.delimiter, names);
  if (count === UNTERMINATED) return 'the header has an unterminated quote';
  if (count === TEXT_AFTER_QUOTE) return 'the header has text after a closing quote';
  const featuresPath = compilePath(model.fields.features);
  const used: Path[] = [];
  for (const [field, path] of Object.entries(model.fields)) if (field !== 'features') used.push(compilePath(path));
  for (const path of model.segments) used.push(compilePath(path));

  const columns: Array<{ path: Path; column: number; name: string }> = [];
  for (let column = 0; column < names.length; column++) {
    const name = names[column]!.trim();
    if (name.length === 0 || name.split('.').includes('__proto__')) continue;
    columns.push({ path: name.split('.'), column, name });
  }
  const shape: ShapeNode[] = [];
  const hasFeatureColumns = columns.some((c) => startsWithPath(c.path, featuresPath));
  for (const c of columns) {
    const isUsed = used.some((u) => startsWithPath(c.path, u) || startsWithPath(u, c.path));
    if (hasFeatureColumns || isUsed) insert(shape, c.path, c.column);
    else insert(shape, [...featuresPath, c.name], c.column);
  }
  return { width: count, shape };
}

export class CsvLineParser implements LineParser {
  readonly needsHeader = true;
  private header: CsvHeader | string = 'no header line has been read yet';
  private readonly cells: string[] = [];

  constructor(
    private readonly model: ModelConfig,
    private readonly mapper: RecordMapper,
  ) {}

  /** Reads the file's first line; call again when the file is replaced. */
  setHeader(line: string): void {
    this.header = readCsvHeader(this.model, line);
  }

  parse(line: string, readTimeMs: number): ParseResult {
    const header = this.header;
    if (typeof header === 'string') return reject('unparseable', `CSV header: ${header}`, line, null);
    const count = splitCsvLine(line, this.model.csv.delimiter, this.cells);
    if (count === UNTERMINATED) return reject('unparseable', 'row: a quoted cell is not closed', line, null);
    if (count === TEXT_AFTER_QUOTE) return reject('unparseable', 'row: text after a closing quote', line, null);
    if (count !== header.width) {
      return reject('csv_columns', `row: expected ${header.width} columns as in the header, got ${count}`, line, null);
    }
    return this.mapper.map(build(header.shape, this.cells), line, readTimeMs);
  }
}
