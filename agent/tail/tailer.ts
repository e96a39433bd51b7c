// Follows every file matching a model's globs and hands out complete lines with the byte offset
// after each, so that the caller can commit offsets and the state those lines built in one
// transaction. Files are tracked by identity (dev, inode, head hash), never by name alone.
import fs from 'node:fs';
import path from 'node:path';
import { HEAD_BYTES, hashHead, identityKey } from './file-identity.js';
import { expandGlob } from './glob.js';
import { LineReader, Scratch } from './line-reader.js';

export interface FileCheckpoint {
  /** `${dev}:${ino}` */
  key: string;
  path: string;
  headHash: string;
  headLen: number;
  /** Byte offset just after the last line counted. */
  offset: number;
  /** File size at the last look (for status). */
  size: number;
  /** The file was rotated away and read to its end; it is no longer followed. */
  done: boolean;
}

export type TailNotice = 'resumed' | 'rotated' | 'truncated' | 'replaced' | 'found_moved' | 'missing' | 'unreadable' | 'closed';

export interface TailEvents {
  /** A complete, non-blank line. `first` is true for the line at byte 0 (a CSV header). */
  line(file: TailedFile, text: string, first: boolean): void;
  /** The file's first line, when reading resumes past it (CSV needs the header). */
  header(file: TailedFile, text: string): void;
  tooLong(file: TailedFile, bytes: number): void;
  notice(kind: TailNotice, file: { path: string; key: string }, detail: string): void;
}

export interface TailerOptions {
  globs: string[];
  startPosition: 'start' | 'end';
  maxLineBytes: number;
  readChunkBytes: number;
  rotateWaitMs: number;
  /** A watched file at its end and unchanged this long is closed (its checkpoint kept) to free the descriptor. */
  idleCloseMs?: number;
  now: () => number;
}

const DEFAULT_IDLE_CLOSE_MS = 5 * 60_000;

export interface TailedFile {
  readonly key: string;
  path: string;
}

interface OpenFile extends TailedFile {
  fd: number;
  reader: LineReader;
  headHash: string;
  headLen: number;
  size: number;
  eof: boolean;
  rotated: boolean;
  lastGrowthAt: number;
  /** Last modification time: older files are read first, so their records are not made late. */
  mtimeMs: number;
}

export class Tailer {
  private readonly open = new Map<string, OpenFile>();
  private readonly saved = new Map<string, FileCheckpoint>();
  private readonly finished: FileCheckpoint[] = [];
  private firstScan = true;
  private readonly scratch: Scratch;

  constructor(
    private readonly opts: TailerOptions,
    checkpoints: FileCheckpoint[],
    private readonly events: TailEvents,
  ) {
    for (const cp of checkpoints) this.saved.set(cp.key, cp);
    this.scratch = new Scratch(opts.readChunkBytes);
  }

  /** Finds new files, and notices rotation, truncation and replacement of known ones. */
  scan(): void {
    const seen = new Set<string>();
    for (const glob of this.opts.globs) {
      for (const p of expandGlob(glob)) {
        let st: fs.BigIntStats;
        try {
          st = fs.statSync(p, { bigint: true });
        } catch {
          continue; // gone between listing and stat: the next scan sees the new state
        }
        const key = identityKey(st);
        if (seen.has(key)) continue;
        seen.add(key);
        const file = this.open.get(key);
        if (file) {
          file.path = p;
          file.rotated = false;
          file.mtimeMs = Number(st.mtimeMs);
          this.checkChanged(file, Number(st.size));
        } else if (this.saved.get(key)?.offset !== Number(st.size)) {
          // A known file whose size equals its checkpoint has nothing new: leave it closed.
          const opened = this.openFile(p, false);
          if (opened) seen.add(opened.key);
        }
      }
    }
    const now = this.opts.now();
    for (const file of this.open.values()) {
      if (!seen.has(file.key) && !file.rotated) {
        file.rotated = true;
        file.lastGrowthAt = now;
        this.events.notice('rotated', file, 'no longer at a watched path; reading it to its end');
        this.refreshSize(file);
      } else if (file.rotated) this.refreshSize(file);
    }
    this.firstScan = false;
    this.findMoved(seen);
  }

  /**
   * Reads up to about `maxBytes` from the followed files, rotated-away and least recently modified
   * ones first (their lines are older), handing out every complete line. Returns the bytes read;
   * 0 means every file is at its end.
   */
  read(maxBytes: number): number {
    let total = 0;
    const order = [...this.open.values()].sort((a, b) =>
      a.rotated !== b.rotated ? (a.rotated ? -1 : 1) : a.mtimeMs !== b.mtimeMs ? a.mtimeMs - b.mtimeMs : a.path < b.path ? -1 : 1,
    );
    const now = this.opts.now();
    for (const file of order) {
      if (total >= maxBytes) break;
      const sink = {
        line: (text: string, start: number) => {
          if (!isBlank(text)) this.events.line(file, text, start === 0);
        },
        tooLong: (_start: number, bytes: number) => this.events.tooLong(file, bytes),
      };
      while (total < maxBytes) {
        let n: number;
        try {
          n = file.reader.readChunk(sink);
        } catch (err) {
          // An I/O error on one file must not stop the others; the next round tries again.
          this.events.notice('unreadable', file, (err as Error).message);
          break;
        }
        if (n === 0) {
          file.eof = true;
          break;
        }
        file.eof = false;
        file.lastGrowthAt = now;
        file.size = Math.max(file.size, file.reader.position);
        total += n;
      }
    }
    const idleMs = this.opts.idleCloseMs ?? DEFAULT_IDLE_CLOSE_MS;
    for (const file of [...this.open.values()]) {
      if (!file.eof) continue;
      if (file.rotated && now - file.lastGrowthAt >= this.opts.rotateWaitMs) this.retire(file, true);
      else if (!file.rotated && now - file.lastGrowthAt >= idleMs) this.retire(file, false);
    }
    return total;
  }

  /** Every checkpoint that may have changed since the last call: open files and retired ones. */
  takeCheckpoints(): FileCheckpoint[] {
    const out = this.finished.splice(0);
    for (const f of this.open.values()) {
      // The head must cover the counted bytes (up to HEAD_BYTES), or a reused inode whose new file
      // begins with the same few bytes could be taken for this one.
      if (f.headLen < HEAD_BYTES && f.headLen < f.reader.offset) {
        f.headLen = Math.min(Number(fs.fstatSync(f.fd).size), HEAD_BYTES);
        f.headHash = hashHead(f.fd, f.headLen) ?? '';
      }
      out.push(this.checkpointOf(f, false));
    }
    for (const cp of out) this.saved.set(cp.key, cp);
    return out;
  }

  /** Whether takeCheckpoints would return anything the store does not already hold. */
  hasChanges(): boolean {
    if (this.finished.length > 0) return true;
    for (const f of this.open.values()) {
      const s = this.saved.get(f.key);
      if (s === undefined || s.offset !== f.reader.offset || s.path !== f.path || s.size !== Math.max(f.size, f.reader.offset)) return true;
    }
    return false;
  }

  status(): FileCheckpoint[] {
    return [...this.open.values()].map((f) => this.checkpointOf(f, false));
  }

  close(): void {
    for (const f of this.open.values()) fs.closeSync(f.fd);
    this.open.clear();
  }

  private checkpointOf(f: OpenFile, done: boolean): FileCheckpoint {
    return {
      key: f.key,
      path: f.path,
      headHash: f.headHash,
      headLen: f.headLen,
      offset: f.reader.offset,
      size: Math.max(f.size, f.reader.offset),
      done,
    };
  }

  /** Closes a file: `done` when it was rotated away and read to its end, else only idle. */
  private retire(file: OpenFile, done: boolean): void {
    const cp = this.checkpointOf(file, done);
    fs.closeSync(file.fd);
    this.open.delete(file.key);
    this.saved.set(cp.key, cp);
    this.finished.push(cp);
    this.events.notice('closed', file, done ? 'read to its end after rotation' : 'idle; reopened when it grows');
  }

  private openFile(p: string, rotated: boolean): OpenFile | null {
    let fd: number;
    try {
      fd = fs.openSync(p, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.events.notice('unreadable', { path: p, key: '' }, (err as Error).message);
      return null;
    }
    // Identity comes from the open descriptor: the name may have moved since it was listed.
    const st = fs.fstatSync(fd, { bigint: true });
    const key = identityKey(st);
    if (this.open.has(key)) {
      fs.closeSync(fd);
      return null;
    }
    const size = Number(st.size);
    const saved = this.saved.get(key);
    let start = 0;
    if (saved) {
      if (saved.offset <= size && hashHead(fd, saved.headLen) === saved.headHash) {
        start = saved.offset;
        if (start > 0) this.events.notice('resumed', { path: p, key }, `at byte ${start}`);
      } else {
        this.events.notice('replaced', { path: p, key }, 'same inode, different content: reading from the start');
      }
    } else if (this.firstScan && this.opts.startPosition === 'end') {
      start = lastLineEnd(fd, size);
    }
    const headLen = Math.min(size, HEAD_BYTES);
    const file: OpenFile = {
      key,
      path: p,
      fd,
      reader: new LineReader(fd, start, this.opts.maxLineBytes, this.scratch),
      headHash: hashHead(fd, headLen) ?? '',
      headLen,
      size,
      eof: false,
      rotated,
      lastGrowthAt: this.opts.now(),
      mtimeMs: Number(st.mtimeMs),
    };
    this.open.set(key, file);
    if (start > 0) this.sendHeader(file);
    return file;
  }

  private checkChanged(file: OpenFile, size: number): void {
    if (size < file.reader.position) {
      this.restart(file, 'truncated', `size ${size} below read position ${file.reader.position}`);
    } else if (size !== file.size || file.headLen < HEAD_BYTES) {
      if (hashHead(file.fd, file.headLen) !== file.headHash) {
        this.restart(file, 'replaced', 'first bytes changed (copy-truncate): reading from the start');
      } else if (file.headLen < HEAD_BYTES && size > file.headLen) {
        file.headLen = Math.min(size, HEAD_BYTES);
        file.headHash = hashHead(file.fd, file.headLen) ?? '';
      }
    }
    file.size = size;
  }

  private refreshSize(file: OpenFile): void {
    this.checkChanged(file, Number(fs.fstatSync(file.fd).size));
  }

  private restart(file: OpenFile, kind: TailNotice, detail: string): void {
    this.events.notice(kind, file, detail);
    file.reader.reset(0);
    file.eof = false;
    file.headLen = Math.min(Number(fs.fstatSync(file.fd).size), HEAD_BYTES);
    file.headHash = hashHead(file.fd, file.headLen) ?? '';
  }

  /**
   * A known file that is neither open nor at a watched path was renamed while the agent was down
   * (or while it was closed as idle), maybe to a name the globs do not match. Look for it by
   * identity in the folder it was last seen in, and finish it (Fluent Bit and Alloy lose these lines).
   */
  private findMoved(seen: Set<string>): void {
    for (const cp of this.saved.values()) {
      if (cp.done || seen.has(cp.key) || this.open.has(cp.key)) continue;
      const dir = path.dirname(cp.path);
      let found: string | null = null;
      let names: string[] = [];
      try {
        names = fs.readdirSync(dir);
      } catch {
        names = [];
      }
      for (const name of names) {
        const full = path.join(dir, name);
        try {
          if (identityKey(fs.statSync(full, { bigint: true })) === cp.key) {
            found = full;
            break;
          }
        } catch {
          continue;
        }
      }
      const opened = found ? this.openFile(found, true) : null;
      if (opened && opened.key === cp.key) {
        this.events.notice('found_moved', opened, `was ${cp.path}; reading it to its end`);
      } else {
        this.events.notice('missing', cp, `gone while the agent was down; any lines after byte ${cp.offset} are lost`);
        // Marked done at once: later scans before the next commit must not report it again.
        const gone = { ...cp, done: true };
        this.saved.set(cp.key, gone);
        this.finished.push(gone);
      }
    }
  }

  private sendHeader(file: OpenFile): void {
    const text = readFirstLine(file.fd, this.opts.maxLineBytes);
    if (text !== null) this.events.header(file, text);
  }
}

function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

/** The offset just after the last newline before `size`: where "start at the end" begins. */
function lastLineEnd(fd: number, size: number): number {
  const buf = Buffer.allocUnsafe(64 * 1024);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - buf.length);
    const n = fs.readSync(fd, buf, 0, end - start, start);
    const nl = buf.subarray(0, n).lastIndexOf(10);
    if (nl !== -1) return start + nl + 1;
    end = start;
  }
  return 0;
}

function readFirstLine(fd: number, max: number): string | null {
  const buf = Buffer.allocUnsafe(Math.min(max + 1, 1 << 20));
  const n = fs.readSync(fd, buf, 0, buf.length, 0);
  const nl = buf.subarray(0, n).indexOf(10);
  if (nl === -1) return null;
  let end = nl;
  if (end > 0 && buf[end - 1] === 13) end--;
  return buf.toString('utf8', 0, end);
}
