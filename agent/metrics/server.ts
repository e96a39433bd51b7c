// The HTTP side of the endpoint: GET /metrics renders a fresh snapshot; nothing else is served.
// One render is synchronous and small (see docs/metrics.md for its cost), so a scrape never holds
// the event loop long enough to delay ingest. Listen failures surface at start as
// EW_ERR_METRICS_LISTEN; a render that throws answers 500 and is logged once and counted.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgentError } from '../errors.js';
import type { Logger } from '../log.js';
import { CONTENT_TYPE, renderMetrics } from './exposition.js';
import type { MetricsSnapshot } from './snapshot.js';

export interface MetricsServer {
  /** Where it listens, `host:port` (`[v6]:port`), with the port the kernel chose for port 0. */
  readonly address: string;
  readonly port: number;
  /** Stops listening and drops open connections (scrapers keep them alive). */
  close(): Promise<void>;
}

export interface MetricsServerOptions {
  /** Scrape time for the silence gauge; Date.now unless a test injects a clock. */
  now?: () => number;
}

/** `host:port` or `[v6]:port`, port 0-65535 (0: any free port). */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new AgentError(
      'EW_ERR_METRICS_LISTEN',
      `metrics.listen: got ${JSON.stringify(listen)}, expected "host:port" such as "127.0.0.1:9464" or "[::1]:9464"`,
    );
  }
  return { host: (m[1] ?? m[2]) as string, port };
}

function listenError(listen: string, err: NodeJS.ErrnoException): AgentError {
  const why: Record<string, string> = {
    EADDRINUSE: 'the port is in use (another agent or exporter?)',
    EADDRNOTAVAIL: 'the host is not an address of this machine',
    EACCES: 'permission denied (ports below 1024 need privileges)',
    ENOTFOUND: 'the host name does not resolve',
    EAI_AGAIN: 'the host name does not resolve (resolver unavailable)',
  };
  const reason = (err.code && why[err.code]) ?? err.message;
  return new AgentError('EW_ERR_METRICS_LISTEN', `metrics.listen ${JSON.stringify(listen)}: cannot listen: ${reason}${err.code ? ` (${err.code})` : ''}`);
}

function answer(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}

export async function startMetricsServer(
  listen: string,
  snapshot: () => MetricsSnapshot,
  log: Logger,
  opts: MetricsServerOptions = {},
): Promise<MetricsServer> {
  const { host, port } = parseListen(listen);
  const now = opts.now ?? Date.now;

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== '/metrics') return answer(res, 404, 'not found: metrics are at /metrics\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(res, 405, 'use GET\n', { Allow: 'GET, HEAD' });
    let body: string;
    try {
      body = renderMetrics(snapshot(), now());
    } catch (err) {
      log.once('metrics:render', 'error', 'metrics: could not render the snapshot', { error: err instanceof Error ? err.message : String(err) });
      return answer(res, 500, 'could not render metrics; see the agent log\n');
    }
    res.writeHead(200, { 'Content-Type': CONTENT_TYPE, 'Content-Length': String(Buffer.byteLength(body)) });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  // node:http is loaded here, not at startup: the config imports parseListen from this module, and
  // an agent without a metrics endpoint should not carry the HTTP stack (docs/footprint.md).
  const { createServer } = await import('node:http');
  const server = createServer(handle);
  // A scraper that stalls must not hold a socket for long on a small device.
  server.headersTimeout = 5_000;
  server.requestTimeout = 10_000;

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      reject(listenError(listen, err));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host, port, exclusive: true });
  });
  server.on('error', (err: NodeJS.ErrnoException) => {
    log.once(`metrics:${err.code ?? 'server'}`, 'warn', 'metrics: server error', { error: err.message });
  });

  const bound = server.address() as AddressInfo;
  const address = bound.family === 'IPv6' ? `[${bound.address}]:${bound.port}` : `${bound.address}:${bound.port}`;
  log.log('info', 'metrics endpoint listening', { address, path: '/metrics' });
  return {
    address,
    port: bound.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
