// The single executable's SQLite addon cache (agent/store/sqlite.ts), with the addon this machine's
// Node loads: written once under a name keyed by its hash, reused, and every failed folder named.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cacheFolders, loadAddon } from '../../agent/store/sqlite.js';

const require = createRequire(import.meta.url);
const addonFile = path.join(path.dirname(require.resolve('better-sqlite3/package.json')), 'build', 'Release', 'better_sqlite3.node');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-addon-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the addon cache', () => {
  const bytes = new Uint8Array(fs.readFileSync(addonFile));

  it('skips folders it cannot write, loads from the first it can, and reuses the file', () => {
    const blocker = path.join(dir, 'a-file');
    fs.writeFileSync(blocker, '');
    const good = path.join(dir, 'cache');
    const addon = loadAddon(bytes, [path.join(blocker, 'sub'), good]) as { Database?: unknown };
    expect(typeof addon.Database).toBe('function');
    const [name] = fs.readdirSync(good);
    expect(name).toMatch(/^better_sqlite3-[0-9a-f]{16}\.node$/);
    const mtime = fs.statSync(path.join(good, name!)).mtimeMs;
    loadAddon(bytes, [good]);
    expect(fs.statSync(path.join(good, name!)).mtimeMs).toBe(mtime);
    expect(fs.readdirSync(good)).toEqual([name]); // no temporary file left behind
  });

  it('names every folder and why, when none works', () => {
    const blocker = path.join(dir, 'b-file');
    fs.writeFileSync(blocker, '');
    expect(() => loadAddon(bytes, [path.join(blocker, 'x'), path.join(blocker, 'y')])).toThrow(
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
