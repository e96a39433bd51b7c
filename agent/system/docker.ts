// A minimal Docker Engine API client: GET a path over the daemon's unix socket and parse the JSON,
// within a time limit, turning every way that can fail into a SourceError of the right kind.
import http from 'node:http';
import { SourceError, type SourceCause } from './source.js';

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/** Inspect and stats answers are a few kB; anything far larger is not what we asked for. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface DockerAnswer {
  status: number;
  /** The parsed body of a 2xx answer; undefined for any other status. */
  json: unknown;
}

export class DockerClient {
  private readonly inFlight = new Set<http.ClientRequest>();

  constructor(
    readonly socketPath: string,
    private readonly timeoutMs: number,
  ) {}

  /** GET `path`. Resolves for 2xx (parsed) and 404 (json undefined); any other status is 'driver'. */
  get(path: string): Promise<DockerAnswer> {
    return new Promise<DockerAnswer>((resolve, reject) => {
      let settled = false;
      const finish = (err: SourceError | null, answer?: DockerAnswer): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.inFlight.delete(req);
        if (err !== null) {
          req.destroy();
          reject(err);
        } else resolve(answer as DockerAnswer);
      };
      const req = http.get({ socketPath: this.socketPath, path, headers: { Host: 'docker' }, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) finish(new SourceError('parse', `${path}: answer larger than ${MAX_BODY_BYTES} bytes`));
          else chunks.push(chunk);
        });
        res.on('error', (err) => finish(this.connectionError(path, err)));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString('utf8');
          if (status === 404) return finish(null, { status, json: undefined });
          if (status < 200 || status >= 300) {
            return finish(new SourceError('driver', `${path}: HTTP ${status}: ${daemonMessage(text)}`));
          }
          try {
            finish(null, { status, json: JSON.parse(text) as unknown });
          } catch {
            finish(new SourceError('parse', `${path}: not JSON: ${JSON.stringify(text.slice(0, 80))}`));
          }
        });
      });
      this.inFlight.add(req);
      req.on('error', (err) => finish(this.connectionError(path, err)));
      // One limit for connect, answer and body: a daemon stuck on a dead container must not hold the round.
      const timer = setTimeout(
        () => finish(new SourceError('timeout', `${path}: no answer from ${this.socketPath} within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
    });
  }

  /** Drops requests still waiting (their promises reject as 'failed'). */
  close(): void {
    for (const req of this.inFlight) req.destroy(new Error('docker client closed'));
    this.inFlight.clear();
  }

  private connectionError(path: string, err: Error): SourceError {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    return new SourceError(socketCause(code), `${this.socketPath} ${path}: ${code || err.message}`);
  }
}

/**
 * No socket file: Docker is not installed here, a normal state. A socket nobody listens on means
 * dockerd is installed but down, which the operator who listed containers wants to hear about.
 */
function socketCause(code: string): SourceCause {
  if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
  if (code === 'EACCES' || code === 'EPERM') return 'permission';
  return 'failed';
}

function daemonMessage(text: string): string {
  try {
    const body = JSON.parse(text) as unknown;
    if (typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string') {
      return (body as { message: string }).message;
    }
  } catch {
    // not JSON: show the start of it
  }
  return JSON.stringify(text.slice(0, 80));
}
