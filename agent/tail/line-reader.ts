// Cuts one open file's bytes into complete lines. The offset it reports only ever sits just after a
// newline, so a checkpoint taken at any moment resumes at a line start: a partial last line waits
// for its newline, and a line over the cap is skipped to its newline without being held whole.
import fs from 'node:fs';

export interface LineSink {
  /** A complete line without its newline (and without a trailing \r), decoded as UTF-8 (lossy). */
  line(text: string, start: number, end: number): void;
  /** A line longer than the cap, skipped; `bytes` includes its newline. */
  tooLong(start: number, bytes: number): void;
}

export class LineReader {
  /** Byte position just after the last line handed out: what a checkpoint stores. */
  offset: number;
  /** Bytes read from the file so far (offset plus a held partial line). */
  private readPos: number;
  /** A partial line waiting for its newline (usually a few hundred bytes). */
  private pending: Buffer | null = null;
  private skipping = false;

  constructor(
    private readonly fd: number,
    start: number,
    private readonly maxLineBytes: number,
    private readonly scratch: Scratch,
  ) {
    this.offset = start;
    this.readPos = start;
  }

  get position(): number {
    return this.readPos;
  }

  /** Forget everything read and start again at `offset` (after a truncation, from 0). */
  reset(offset: number): void {
    this.offset = offset;
    this.readPos = offset;
    this.pending = null;
    this.skipping = false;
  }

  /**
   * The held partial last line, for a reader of a finished file (batch mode), where a missing final
   * newline does not mean more is coming. A tailer never calls this.
   */
  takePartial(): string | null {
    if (!this.pending || this.skipping) return null;
    let end = this.pending.length;
    if (end > 0 && this.pending[end - 1] === 13) end--;
    const text = this.pending.toString('utf8', 0, end);
    this.offset += this.pending.length;
    this.pending = null;
    return text;
  }

  /**
   * Reads at most one chunk and hands out the complete lines in it.
   * Returns the number of bytes read (0 at the end of the file).
   */
  readChunk(sink: LineSink): number {
    const held = this.pending ? this.pending.length : 0;
    const data = this.scratch.take(held);
    if (this.pending) this.pending.copy(data, 0);
    const n = fs.readSync(this.fd, data, held, this.scratch.chunkBytes, this.readPos);
    if (n === 0) return 0;
    const end = held + n;
    const dataStart = this.readPos - held;
    this.readPos += n;
    this.pending = null;

    let pos = 0;
    for (;;) {
      const nl = data.indexOf(10, pos);
      if (nl === -1 || nl >= end) break;
      const lineStart = dataStart + pos;
      const lineEnd = dataStart + nl + 1;
      if (this.skipping) {
        // The long line began before this data; `offset` still marks its start.
        const start = this.offset;
        this.offset = lineEnd;
        this.skipping = false;
        sink.tooLong(start, lineEnd - start);
      } else if (nl - pos > this.maxLineBytes) {
        this.offset = lineEnd;
        sink.tooLong(lineStart, lineEnd - lineStart);
      } else {
        let stop = nl;
        if (stop > pos && data[stop - 1] === 13) stop--;
        this.offset = lineEnd;
        sink.line(data.toString('utf8', pos, stop), lineStart, lineEnd);
      }
      pos = nl + 1;
    }

    const rest = end - pos;
    if (this.skipping || rest > this.maxLineBytes) this.skipping = true;
    else if (rest > 0) this.pending = Buffer.from(data.subarray(pos, end));
    return n;
  }
}

/** One read buffer shared by every file of a tailer: room for a held partial line plus a chunk. */
export class Scratch {
  private buf: Buffer;

  constructor(readonly chunkBytes: number) {
    this.buf = Buffer.allocUnsafe(chunkBytes);
  }

  /** The buffer, with room for `held` bytes in front of a chunk. Valid until the next call. */
  take(held: number): Buffer {
    if (this.buf.length < held + this.chunkBytes) this.buf = Buffer.allocUnsafe(held + this.chunkBytes);
    return this.buf;
  }
}
