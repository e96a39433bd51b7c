// Running as a single executable (scripts/build-binary.mjs, docs/binary.md): what was packed in as
// assets (the SQLite addon, the agent's MQTT client, the collector's web page and worker code) is
// read from the executable.
interface SeaModule {
  isSea(): boolean;
  getAsset(key: string): ArrayBuffer;
  getAsset(key: string, encoding: string): string;
  getRawAsset(key: string): ArrayBuffer;
}

let sea: SeaModule | null | undefined;

function seaModule(): SeaModule | null {
  if (sea !== undefined) return sea;
  try {
    // Only the executable's CommonJS bundle has `require`; from source (ESM) this is never one.
    const mod = (typeof require === 'function' ? require('node:sea') : null) as SeaModule | null;
    sea = mod !== null && mod.isSea() ? mod : null;
  } catch {
    sea = null;
  }
  return sea;
}

/** True in a single executable. */
export function isSingleExecutable(): boolean {
  return seaModule() !== null;
}

/**
 * An asset packed into the executable, or null (not an executable, or no such asset). The bytes are
 * the executable's own mapped pages, not a copy: read them, never write to them.
 */
export function seaAsset(name: string): Uint8Array | null {
  const s = seaModule();
  if (s === null) return null;
  try {
    return new Uint8Array(s.getRawAsset(name));
  } catch {
    return null;
  }
}

/** A text asset (UTF-8), or null. */
export function seaText(name: string): string | null {
  const s = seaModule();
  if (s === null) return null;
  try {
    return s.getAsset(name, 'utf8');
  } catch {
    return null;
  }
}
