// Runs a snippet of TypeScript in a child process as an unprivileged user, so tests of "permission
// denied" paths run the same as root (CI) and as anyone else: root ignores file modes.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const NOBODY = 65534;

/**
 * Evaluates `code` (an ES module body that may `await` and import from the repo by absolute path,
 * see `repoPath`) as user nobody when we are root, else as ourselves; resolves with its stdout.
 * Paths it reads must be reachable by that user (temp dirs are).
 */
export function runUnprivileged(code: string): Promise<string> {
  const root = process.getuid?.() === 0;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(root ? { uid: NOBODY, gid: NOBODY } : {}),
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${err}`))));
  });
}

/** A repo file as an import specifier for runUnprivileged. */
export function repoPath(relative: string): string {
  return JSON.stringify(path.join(repo, relative));
}
