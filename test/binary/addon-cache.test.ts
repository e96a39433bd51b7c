// The single executable's SQLite addon cache (agent/store/sqlite.ts), with the addon this machine's
// Node loads: written once under a name keyed by its hash, reused, and every failed folder named.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cacheFolders, loadAddon, packedAddon } from '../../agent/store/sqlite.js';

const require = createRequire(import.meta.url);
const addonFile = path.join(path.dirname(require.resolve('better-sqlite3/package.json')), 'build', 'Release', 'better_sqlite3.node');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-addon-'));
const mounts: string[] = [];
afterAll(() => {
  // Lazily: the test process may still hold the refused file (the loader's failed mapping).
  for (const m of mounts) execFileSync('umount', ['--lazy', m]);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh tmpfs mounted noexec (root: CI runs as root, as it installs with apt-get). */
function noexecFolder(name: string): string {
  const folder = path.join(dir, name);
  fs.mkdirSync(folder);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'noexec,size=16m', 'tmpfs', folder]);
  mounts.push(folder);
  return folder;
}

describe('the addon cache', () => {
  const bytes = new Uint8Array(fs.readFileSync(addonFile));
  const packed = packedAddon(bytes);

  it('skips folders it cannot write, loads from the first it can, and reuses the file', () => {
    const blocker = path.join(dir, 'a-file');
    fs.writeFileSync(blocker, '');
    const good = path.join(dir, 'cache');
    const addon = loadAddon(packed, [path.join(blocker, 'sub'), good]) as { Database?: unknown };
    expect(typeof addon.Database).toBe('function');
    const [name] = fs.readdirSync(good);
    expect(name).toBe(`better_sqlite3-${packed.sha256.slice(0, 16)}.node`);
    const mtime = fs.statSync(path.join(good, name!)).mtimeMs;
    // A start that finds it cached reads none of the packed bytes.
    let reads = 0;
    loadAddon({ ...packed, read: () => (reads++, bytes) }, [good]);
    expect(reads).toBe(0);
    expect(fs.statSync(path.join(good, name!)).mtimeMs).toBe(mtime);
    expect(fs.readdirSync(good)).toEqual([name]); // no temporary file left behind
  });

  it('passes over a noexec folder, where the loader refuses to map the addon it could write', () => {
    const noexec = noexecFolder('noexec');
    expect(() => loadAddon(packed, [noexec])).toThrow(new RegExp(`${noexec}: .*failed to map segment from shared object`));
    const good = path.join(dir, 'after-noexec');
    const addon = loadAddon(packed, [noexec, good]) as { Database?: unknown };
    expect(typeof addon.Database).toBe('function');
    expect(fs.readdirSync(good)).toEqual([`better_sqlite3-${packed.sha256.slice(0, 16)}.node`]);
  });

  it('passes over a cached file that is not a library (same name and size, other bytes)', () => {
    const spoiled = path.join(dir, 'spoiled');
    fs.mkdirSync(spoiled);
    fs.writeFileSync(path.join(spoiled, `better_sqlite3-${packed.sha256.slice(0, 16)}.node`), Buffer.alloc(packed.bytes));
    const good = path.join(dir, 'after-spoiled');
    expect(typeof (loadAddon(packed, [spoiled, good]) as { Database?: unknown }).Database).toBe('function');
    expect(fs.readdirSync(good)).toHaveLength(1);
  });

  it('names every folder and why, when none works', () => {
    const blocker = path.join(dir, 'b-file');
    fs.writeFileSync(blocker, '');
    expect(() => loadAddon(packed, [path.join(blocker, 'x'), path.join(blocker, 'y')])).toThrow(
      new RegExp(`cannot load the SQLite addon[\\s\\S]*${blocker}/x: [\\s\\S]*${blocker}/y: `),
    );
  });

  it('orders the folders: EDGEWATCH_CACHE_DIR, XDG_CACHE_HOME, HOME, the service state folder, beside the executable, tmp', () => {
    const folders = cacheFolders({ EDGEWATCH_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x', HOME: '/h', STATE_DIRECTORY: '/var/lib/ew:/other' }, '/opt/ew/edgewatch-agent');
    expect(folders.slice(0, 5)).toEqual(['/c', '/x/edgewatch', '/h/.cache/edgewatch', '/var/lib/ew/.cache', '/opt/ew/.edgewatch-cache']);
    expect(folders.at(-1)).toBe('/dev/shm/edgewatch');
    expect(cacheFolders({}, '/opt/ew/x')[0]).toBe('/opt/ew/.edgewatch-cache');
  });
});
