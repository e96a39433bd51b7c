// A log file is known by (device, inode) and a hash of its first bytes, not by its name: names move
// under rotation, and inode numbers are reused after a delete. The head hash tells the two apart.
import crypto from 'node:crypto';
import fs from 'node:fs';

/** How many leading bytes the head hash covers once the file is that long. */
export const HEAD_BYTES = 1024;

export interface FileIdentity {
  /** `${dev}:${ino}` as decimal strings (inode numbers can pass 2^53). */
  key: string;
  headHash: string;
  headLen: number;
}

export function identityKey(st: fs.BigIntStats): string {
  return `${st.dev}:${st.ino}`;
}

/** Hash of the first `len` bytes, or null when the file is shorter than that now. */
export function hashHead(fd: number, len: number): string | null {
  const buf = Buffer.allocUnsafe(len);
  let got = 0;
  while (got < len) {
    const n = fs.readSync(fd, buf, got, len - got, got);
    if (n === 0) break;
    got += n;
  }
  if (got < len) return null;
  return crypto.createHash('sha256').update(buf.subarray(0, len)).digest('hex').slice(0, 32);
}
