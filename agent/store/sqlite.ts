// Opening a SQLite file, wherever the agent or collector runs from. From source or from the bundle,
// better-sqlite3 finds its addon in node_modules. In the single executable (scripts/build-binary.mjs)
// there is no node_modules: the addon travels inside the executable as an asset, is written once to
// a cache folder under a name keyed by its hash, and is handed to better-sqlite3 already loaded.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { seaAsset, seaText } from '../sea.js';

/** The asset names the build gives the addon and its identity (scripts/build-binary.mjs). */
export const SQLITE_ADDON_ASSET = 'better_sqlite3.node';
export const SQLITE_ADDON_ID_ASSET = 'better_sqlite3.node.id';

/**
 * The addon as packed: its SHA-256 and size, written by the build beside it, and its bytes, read
 * only when the cache lacks it. A start that finds the file in the cache touches none of the asset's
 * 2 MB (no page of the executable read in, nothing hashed).
 */
export interface PackedAddon {
  sha256: string;
  bytes: number;
  read(): Uint8Array;
}

let addon: object | null | undefined;

/** `new Database(file, options)`, with the addon from the executable when running as one. */
export function openSqlite(file: string, options: Database.Options = {}): Database.Database {
  const binding = seaAddon();
  return new Database(file, binding === null ? options : { ...options, nativeBinding: binding as unknown as string });
}

/** The addon loaded from the executable's asset, or null when not running as a single executable. */
function seaAddon(): object | null {
  if (addon !== undefined) return addon;
  const id = seaText(SQLITE_ADDON_ID_ASSET);
  if (id === null) return (addon = null);
  const { sha256, bytes } = JSON.parse(id) as { sha256: string; bytes: number };
  const read = (): Uint8Array => {
    const asset = seaAsset(SQLITE_ADDON_ASSET);
    if (asset === null || asset.length !== bytes) throw new Error(`the executable's ${SQLITE_ADDON_ASSET} asset is missing or not ${bytes} bytes`);
    return asset;
  };
  addon = loadAddon({ sha256, bytes, read }, cacheFolders());
  return addon;
}

/** A PackedAddon for bytes at hand (the tests'). */
export function packedAddon(data: Uint8Array): PackedAddon {
  return { sha256: crypto.createHash('sha256').update(data).digest('hex'), bytes: data.length, read: () => data };
}

/**
 * Where the addon may be written, best first. A service with `ProtectSystem=strict` may write only
 * its data folder; /tmp is often mounted noexec, where the dynamic loader refuses to map a library.
 */
export function cacheFolders(env: NodeJS.ProcessEnv = process.env, execPath = process.execPath): string[] {
  const home = env['HOME'];
  const folders = [
    env['EDGEWATCH_CACHE_DIR'],
    env['XDG_CACHE_HOME'] ? path.join(env['XDG_CACHE_HOME'], 'edgewatch') : undefined,
    home ? path.join(home, '.cache', 'edgewatch') : undefined,
    env['STATE_DIRECTORY'] ? path.join(env['STATE_DIRECTORY'].split(':')[0]!, '.cache') : undefined,
    path.join(path.dirname(execPath), '.edgewatch-cache'),
    path.join(os.tmpdir(), `edgewatch-${typeof process.getuid === 'function' ? process.getuid() : 'user'}`),
    '/dev/shm/edgewatch',
  ];
  return [...new Set(folders.filter((f): f is string => typeof f === 'string' && f !== ''))];
}

/**
 * Writes the addon to the first folder where it can be written and then loaded, and loads it. The
 * file is named by its hash and written under a temporary name, then renamed: two processes starting
 * together both end up loading a complete file, and a new build never loads an old one. A file
 * already there under that name and of that size is loaded as it is. Throws, listing every folder
 * and why it failed, when none works.
 */
export function loadAddon(packed: PackedAddon, folders: readonly string[]): object {
  const name = `better_sqlite3-${packed.sha256.slice(0, 16)}.node`;
  const failures: string[] = [];
  for (const folder of folders) {
    const file = path.join(folder, name);
    try {
      if (!sameFile(file, packed.bytes)) {
        fs.mkdirSync(folder, { recursive: true, mode: 0o700 });
        const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
        fs.writeFileSync(tmp, packed.read(), { mode: 0o500 });
        fs.renameSync(tmp, file);
      }
      const module = { exports: {} as object };
      process.dlopen(module, file);
      return module.exports;
    } catch (err) {
      failures.push(`${folder}: ${(err as Error).message.replace(/\s*\n\s*/g, ' ').slice(0, 300)}`);
    }
  }
  throw new Error(`cannot load the SQLite addon from any cache folder (set EDGEWATCH_CACHE_DIR to a writable folder on a filesystem that allows executables):\n  ${failures.join('\n  ')}`);
}

function sameFile(file: string, size: number): boolean {
  try {
    return fs.statSync(file).size === size;
  } catch {
    return false;
  }
}
