import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentError } from '../../agent/errors.js';
import { createLogger } from '../../agent/log.js';
import { parseListen, startMetricsServer, type MetricsServer } from '../../agent/metrics/index.js';
import { NOW, realisticSnapshot } from './snapshot-fixture.js';

const servers: MetricsServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

function logger() {
  const lines: string[] = [];
  return { log: createLogger({ write: (l) => lines.push(l) }), lines };
}

async function start(snapshot = () => realisticSnapshot({ models: 1, features: 3 })) {
  const { log, lines } = logger();
  const server = await startMetricsServer('127.0.0.1:0', snapshot, log, { now: () => NOW });
  servers.push(server);
  return { server, log, lines };
}

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; type: string | undefined; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function listenError(listen: string): Promise<AgentError> {
  const err = await startMetricsServer(listen, () => realisticSnapshot(), logger().log).then(
    (s) => {
      servers.push(s);
      throw new Error(`listened on ${s.address}`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AgentError);
  expect((err as AgentError).code).toBe('EW_ERR_METRICS_LISTEN');
  return err as AgentError;
}

describe('metrics server', () => {
  it('GET /metrics answers 200 in the text format 0.0.4', async () => {
    const { server, lines } = await start();
    expect(server.address).toBe(`127.0.0.1:${server.port}`);
    const res = await get(server.port, '/metrics');
    expect(res.status).toBe(200);
    expect(res.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.body).toContain('edgewatch_records_accepted_total{model="model-0"} 1234567\n');
    expect(res.body).toContain('edgewatch_log_silence_seconds{model="model-0"} 1.5\n');
    expect((await get(server.port, '/metrics?x=1')).status).toBe(200);
    expect(lines.some((l) => l.includes('metrics endpoint listening'))).toBe(true);
  });

  it('HEAD /metrics has the headers and no body; other methods 405, other paths 404', async () => {
    const { server } = await start();
    const head = await get(server.port, '/metrics', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(Number(head.headers['content-length'])).toBeGreaterThan(1000);
    const post = await get(server.port, '/metrics', 'POST');
    expect(post.status).toBe(405);
    expect(post.headers['allow']).toBe('GET, HEAD');
    for (const path of ['/', '/metrics/', '/favicon.ico', '/api/v1/query']) expect((await get(server.port, path)).status).toBe(404);
  });

  it('renders the snapshot of the moment on each scrape', async () => {
    let accepted = 1;
    const { server } = await start(() => {
      const s = realisticSnapshot({ models: 1, features: 1 });
      s.models[0]!.accepted = accepted++;
      return s;
    });
    expect((await get(server.port, '/metrics')).body).toContain('edgewatch_records_accepted_total{model="model-0"} 1\n');
    expect((await get(server.port, '/metrics')).body).toContain('edgewatch_records_accepted_total{model="model-0"} 2\n');
  });

  it('a snapshot that throws answers 500, logged once and counted', async () => {
    const { server, log, lines } = await start(() => {
      throw new Error('store closed');
    });
    expect((await get(server.port, '/metrics')).status).toBe(500);
    expect((await get(server.port, '/metrics')).status).toBe(500);
    expect(lines.filter((l) => l.includes('could not render'))).toHaveLength(1);
    expect(log.counts.get('metrics:render')).toBe(2);
  });

  it('a port in use is EW_ERR_METRICS_LISTEN naming the address', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const err = await listenError(`127.0.0.1:${port}`);
      expect(err.message).toContain(`127.0.0.1:${port}`);
      expect(err.message).toContain('EADDRINUSE');
    } finally {
      blocker.close();
    }
  });

  it('an address not on this machine, a bad host and a malformed value are EW_ERR_METRICS_LISTEN', async () => {
    expect((await listenError('192.0.2.1:0')).message).toContain('EADDRNOTAVAIL'); // TEST-NET-1
    expect((await listenError('no-such-host.invalid:0')).message).toMatch(/does not resolve|ENOTFOUND|EAI_AGAIN/);
    for (const bad of ['9464', '127.0.0.1', ':9464', '127.0.0.1:99999', 'localhost:http', '[::1:9464']) {
      expect(() => parseListen(bad), bad).toThrow(/expected "host:port"/);
      expect((await listenError(bad)).message).toContain('expected "host:port"');
    }
  });

  it('parses IPv4, IPv6 and host names', () => {
    expect(parseListen('127.0.0.1:9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseListen('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseListen('localhost:9464')).toEqual({ host: 'localhost', port: 9464 });
  });

  it('close() returns while a scraper holds a keep-alive connection', async () => {
    const { server } = await start();
    const { Agent } = await import('node:http');
    const agent = new Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => {
      request({ host: '127.0.0.1', port: server.port, path: '/metrics', agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      })
        .on('error', reject)
        .end();
    });
    const t0 = Date.now();
    await servers.pop()!.close();
    expect(Date.now() - t0).toBeLessThan(1000);
    agent.destroy();
  });
});
