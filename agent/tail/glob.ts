// A small glob matcher for log paths: `*`, `?`, `[abc]` within one path segment and `**` across
// segments. Node 20 has no fs.glob, and log globs are simple enough not to need a dependency.
import fs from 'node:fs';
import path from 'node:path';

const WILDCARD = /[*?[]/;
const MAX_DEPTH = 16;

function segmentToRegExp(segment: string): RegExp {
  let out = '^';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const close = segment.indexOf(']', i + 1);
      if (close === -1) out += '\\[';
      else {
        let body = segment.slice(i + 1, close);
        if (body.startsWith('!')) body = '^' + body.slice(1);
        out += '[' + body.replace(/\\/g, '\\\\') + ']';
        i = close;
      }
    } else out += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(out + '$');
}

/** The folder a glob starts from: its longest leading part without wildcards. */
export function globBase(pattern: string): string {
  const parts = pattern.split('/');
  const fixed: string[] = [];
  for (const p of parts) {
    if (WILDCARD.test(p)) break;
    fixed.push(p);
  }
  if (fixed.length === parts.length) return path.dirname(pattern);
  return fixed.join('/') || '/';
}

/** Regular files (absolute paths) matching an absolute glob, sorted. Missing folders match nothing. */
export function expandGlob(pattern: string): string[] {
  if (!WILDCARD.test(pattern)) {
    return isFile(pattern) ? [pattern] : [];
  }
  const base = globBase(pattern);
  const rest = pattern.slice(base === '/' ? 1 : base.length + 1).split('/');
  const found: string[] = [];
  walk(base, rest.map((s) => (s === '**' ? null : segmentToRegExp(s))), found, 0);
  return found.sort();
}

function walk(dir: string, parts: Array<RegExp | null>, found: string[], depth: number): void {
  if (parts.length === 0 || depth > MAX_DEPTH) return;
  const [head, ...tail] = parts;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  if (head === null) {
    // `**` matches zero segments here, or one segment and stays in force below it.
    walk(dir, tail, found, depth);
    for (const e of entries) if (e.isDirectory()) walk(path.join(dir, e.name), parts, found, depth + 1);
    return;
  }
  for (const e of entries) {
    if (!head!.test(e.name)) continue;
    const full = path.join(dir, e.name);
    if (tail.length === 0) {
      if (e.isFile() || (e.isSymbolicLink() && isFile(full))) found.push(full);
    } else if (e.isDirectory()) walk(full, tail, found, depth + 1);
  }
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}
