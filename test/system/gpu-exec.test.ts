// The command runner under the GPU sources: causes for a missing, unexecutable, failing, chatty,
// hanging or closed command, and no process left behind in any of those.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandExitError, findOnPath, readFirstLine, runCommand } from '../../agent/system/exec.js';
import { SourceError, type SourceCause } from '../../agent/system/source.js';

let dir: string;

/** Writes an executable /bin/sh script named `name` into the test folder. */
function script(name: string, body: string, mode = 0o755): void {
  fs.writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`, { mode });
  fs.chmodSync(path.join(dir, name), mode);
}

async function rejection(p: Promise<unknown>): Promise<SourceError> {
  const outcome = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(outcome).toBeInstanceOf(SourceError);
  return outcome as SourceError;
}

async function expectKind(p: Promise<unknown>, kind: SourceCause): Promise<SourceError> {
  const e = await rejection(p);
  expect(e.kind, e.message).toBe(kind);
  return e;
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function expectGone(pidFile: string): Promise<void> {
  const pids = fs.readFileSync(pidFile, 'utf8').split('\n').filter((l) => l !== '').map(Number);
  expect(pids.length).toBeGreaterThan(0);
  const deadline = Date.now() + 1_000;
  while (pids.some(running) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(pids.filter(running)).toEqual([]);
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-exec-'));
  const sleep = await findOnPath('sleep', process.env['PATH'] ?? '/usr/bin:/bin');
  if (sleep === 'missing' || sleep === 'permission') throw new Error('sleep is needed');
  fs.symlinkSync(sleep, path.join(dir, 'sleep'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const limits = (timeoutMs = 2_000) => ({ path: dir, timeoutMs });

describe('findOnPath', () => {
  it('takes the first directory that has the file, skipping empty PATH entries', async () => {
    script('tool-a', 'echo a');
    expect(await findOnPath('tool-a', `::/nonexistent:${dir}`)).toBe(path.join(dir, 'tool-a'));
    expect(await findOnPath('no-such-tool', dir)).toBe('missing');
  });

  it("reports 'permission' for a file that may not be executed", async () => {
    script('not-executable', 'echo no', 0o644);
    expect(await findOnPath('not-executable', dir)).toBe('permission');
  });
});

describe('runCommand', () => {
  it('returns stdout and stderr of a command that exits 0, with PATH set to the given one', async () => {
    script('ok', 'echo "out $PATH"; echo err >&2');
    expect(await runCommand('ok', [], limits())).toEqual({ stdout: `out ${dir}\n`, stderr: 'err\n' });
  });

  it('passes arguments without a shell', async () => {
    script('args', 'for a in "$@"; do echo "[$a]"; done');
    const { stdout } = await runCommand('args', ['a b', '$HOME', ';echo x'], limits());
    expect(stdout).toBe('[a b]\n[$HOME]\n[;echo x]\n');
  });

  it("rejects 'missing' for a tool not on PATH and 'permission' for one not executable", async () => {
    await expectKind(runCommand('no-such-tool', [], limits()), 'missing');
    script('locked', 'echo no', 0o644);
    await expectKind(runCommand('locked', [], limits()), 'permission');
  });

  it("rejects 'failed' on a non-zero exit, naming the status and the first line of stderr", async () => {
    script('fails', 'echo partial; echo "  "; echo "first problem" >&2; echo second >&2; exit 3');
    const e = await expectKind(runCommand('fails', [], limits()), 'failed');
    expect(e).toBeInstanceOf(CommandExitError);
    expect((e as CommandExitError).exitCode).toBe(3);
    expect((e as CommandExitError).stdout).toBe('partial\n  \n');
    expect(e.message).toBe('fails exited with status 3: first problem');
  });

  it("rejects 'timeout' at the limit and kills the whole process group", async () => {
    const pids = path.join(dir, 'hang.pids');
    script('hang', `echo $$ >> ${pids}; sleep 30 & echo $! >> ${pids}; wait`);
    const started = Date.now();
    await expectKind(runCommand('hang', [], limits(300)), 'timeout');
    expect(Date.now() - started).toBeLessThan(1_000);
    await expectGone(pids);
  });

  it('does not wait for a grandchild that keeps the output pipe open after the command exits', async () => {
    const pids = path.join(dir, 'daemon.pids');
    script('daemonizes', `sleep 30 & echo $! >> ${pids}; echo started; exit 0`);
    await expectKind(runCommand('daemonizes', [], limits(300)), 'timeout');
    await expectGone(pids);
  });

  it("rejects 'parse' and stops a command whose output passes the cap", async () => {
    const pids = path.join(dir, 'chatty.pids');
    script('chatty', `echo $$ >> ${pids}; while :; do echo 0123456789abcdef0123456789abcdef; done`);
    await expectKind(runCommand('chatty', [], { ...limits(), maxOutputBytes: 64 * 1024 }), 'parse');
    await expectGone(pids);
  });

  it("rejects 'failed' and kills the command when the signal aborts", async () => {
    const pids = path.join(dir, 'aborted.pids');
    script('aborted', `echo $$ >> ${pids}; sleep 30 & echo $! >> ${pids}; wait`);
    const controller = new AbortController();
    const pending = runCommand('aborted', [], { ...limits(), signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expectKind(pending, 'failed');
    await expectGone(pids);
    await expectKind(runCommand('aborted', [], { ...limits(), signal: controller.signal }), 'failed');
  });
});

describe('readFirstLine', () => {
  it('returns the first complete line of a command that never exits, and kills it', async () => {
    const pids = path.join(dir, 'ticker.pids');
    script('ticker', `echo $$ >> ${pids}; printf 'one '; sleep 0.1; echo line; while :; do echo next; sleep 1; done`);
    expect(await readFirstLine('ticker', [], limits())).toBe('one line');
    await expectGone(pids);
  });

  it("rejects 'failed' when the command exits before a complete line", async () => {
    script('short', 'printf "no newline"');
    await expectKind(readFirstLine('short', [], limits()), 'failed');
    script('dies', 'echo "tegrastats: cannot open /sys/kernel/debug" >&2; exit 1');
    const e = await expectKind(readFirstLine('dies', [], limits()), 'failed');
    expect(e.message).toContain('cannot open /sys/kernel/debug');
  });

  it("rejects 'timeout' when no line comes in time", async () => {
    script('silent', 'sleep 30');
    await expectKind(readFirstLine('silent', [], limits(200)), 'timeout');
  });
});
