// Runs an external tool (nvidia-smi, tegrastats) for a system source: found on the source's PATH,
// started without a shell in its own process group, and killed with the whole group at the time
// limit, so a wedged driver or a grandchild holding the pipe open can never stall a round or
// outlive it. Every failure is a SourceError whose kind the sampler counts.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { SourceError } from './source.js';

/** What captured output may grow to before the command is killed (its output is not understood). */
export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;

export interface CommandLimits {
  /** PATH searched for the command (SourceEnv.path); the child gets it as its PATH too. */
  path: string;
  /** Hard limit, ms: at it the command's process group is killed and the call rejects 'timeout'. */
  timeoutMs: number;
  /** Cap on stdout and stderr together, bytes (default 1 MiB). */
  maxOutputBytes?: number;
  /** Aborting kills the command and rejects 'failed' (a source's close()). */
  signal?: AbortSignal;
}

export interface CommandOutput {
  stdout: string;
  stderr: string;
}

/** A command that ran and exited non-zero. Kind 'failed'; the output stays for callers that know the tool's errors. */
export class CommandExitError extends SourceError {
  readonly exitCode: number | null;
  readonly exitSignal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  constructor(command: string, exitCode: number | null, exitSignal: NodeJS.Signals | null, out: CommandOutput) {
    const status = exitCode === null ? `signal ${exitSignal ?? '?'}` : `status ${exitCode}`;
    super('failed', `${command} exited with ${status}: ${firstLineOf(out.stderr) || firstLineOf(out.stdout) || '(no output)'}`);
    this.name = 'CommandExitError';
    this.exitCode = exitCode;
    this.exitSignal = exitSignal;
    this.stdout = out.stdout;
    this.stderr = out.stderr;
  }
}

export function firstLineOf(text: string): string {
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed !== '') return trimmed;
  }
  return '';
}

/**
 * Where `name` is on `searchPath`: the first directory holding it as a file. 'missing' when none
 * does; 'permission' when the first one found may not be executed (as execvp would report EACCES).
 */
export async function findOnPath(name: string, searchPath: string): Promise<string | 'missing' | 'permission'> {
  const candidates = name.includes('/') ? [name] : searchPath.split(':').filter((d) => d !== '').map((d) => path.join(d, name));
  let denied = false;
  for (const file of candidates) {
    try {
      if (!(await fs.stat(file)).isFile()) continue;
    } catch {
      continue;
    }
    try {
      await fs.access(file, fs.constants.X_OK);
      return file;
    } catch {
      denied = true;
    }
  }
  return denied ? 'permission' : 'missing';
}

/** Runs `name args` to completion. Non-zero exit rejects with a CommandExitError. */
export async function runCommand(name: string, args: readonly string[], limits: CommandLimits): Promise<CommandOutput> {
  return run(name, args, limits, false);
}

/**
 * Starts `name args` (a tool that prints one line per interval and never exits), returns its first
 * complete stdout line and kills it. An exit before a full line rejects ('failed').
 */
export async function readFirstLine(name: string, args: readonly string[], limits: CommandLimits): Promise<string> {
  return (await run(name, args, limits, true)).stdout;
}

async function run(name: string, args: readonly string[], limits: CommandLimits, untilLine: boolean): Promise<CommandOutput> {
  const file = await findOnPath(name, limits.path);
  if (file === 'missing') throw new SourceError('missing', `${name} not found on PATH ${limits.path}`);
  if (file === 'permission') throw new SourceError('permission', `${name} on PATH ${limits.path} is not executable`);
  if (limits.signal?.aborted) throw new SourceError('failed', `${name}: source closed`);
  const maxBytes = limits.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;

  return new Promise<CommandOutput>((resolve, reject) => {
    // detached: the child leads a new process group, so one kill reaches whatever it started.
    const child = spawn(file, args, {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PATH: limits.path, LC_ALL: 'C' },
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let bytes = 0;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;

    const killGroup = (): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // ESRCH: the group is already gone.
      }
    };
    const finish = (err: SourceError | undefined, out?: CommandOutput): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      limits.signal?.removeEventListener('abort', onAbort);
      // Whatever outcome, nothing of this command may keep running; libuv reaps the child itself.
      killGroup();
      child.stdout.destroy();
      child.stderr.destroy();
      if (err) reject(err);
      else resolve(out!);
    };
    const text = (chunks: Buffer[]): string => Buffer.concat(chunks).toString('utf8');
    const onAbort = (): void => finish(new SourceError('failed', `${name}: source closed`));

    timer = setTimeout(
      () => finish(new SourceError('timeout', `${name} did not finish within ${limits.timeoutMs} ms`)),
      limits.timeoutMs,
    );
    limits.signal?.addEventListener('abort', onAbort, { once: true });

    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        finish(new SourceError('parse', `${name} wrote more than ${maxBytes} bytes`));
        return;
      }
      into.push(chunk);
      if (untilLine && into === stdout && chunk.includes(0x0a)) {
        const all = text(stdout);
        finish(undefined, { stdout: all.slice(0, all.indexOf('\n')), stderr: text(stderr) });
      }
    };
    child.stdout.on('data', collect(stdout));
    child.stderr.on('data', collect(stderr));

    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') finish(new SourceError('missing', `${name}: ${e.message}`));
      else if (e.code === 'EACCES' || e.code === 'EPERM') finish(new SourceError('permission', `${name}: ${e.message}`));
      else finish(new SourceError('failed', `${name}: ${e.message}`));
    });
    // 'close' (not 'exit'): all output has been read. A grandchild holding the pipe delays it,
    // and then the timer ends the command.
    child.on('close', (code, signal) => {
      const out = { stdout: text(stdout), stderr: text(stderr) };
      if (code === 0 && !untilLine) finish(undefined, out);
      else if (code === 0) finish(new SourceError('failed', `${name} exited before printing a complete line`));
      else finish(new CommandExitError(name, code, signal, out));
    });
  });
}
