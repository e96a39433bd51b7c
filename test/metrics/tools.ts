// Finding promtool and prometheus (Debian package `prometheus`; .ci/run installs it). Outside CI a
// machine without them skips those tests; in CI they run and fail, so they are never skipped there.
import { spawn, spawnSync } from 'node:child_process';

export function onPath(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

/** true when the tests that need `tools` must be skipped: they are missing and this is not CI. */
export function skipWithout(...tools: string[]): boolean {
  const missing = tools.filter((t) => !onPath(t));
  if (missing.length === 0) return false;
  if (process.env['CI']) return false; // let them fail loudly
  console.warn(`skipping: ${missing.join(', ')} not on PATH (apt-get install prometheus)`);
  return true;
}

/** `promtool check metrics` on a text exposition: its exit code and what it printed. */
export function promtoolCheck(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(text);
  });
}
