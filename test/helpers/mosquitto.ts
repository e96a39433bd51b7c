// A private Mosquitto broker for tests that stop and restart it: its own port, config and
// persistence file (so QoS 1 messages queued for a persistent session survive a restart, as on a
// production broker with `persistence true`). The Mosquitto binary must be installed (.ci/run
// installs it); a test that needs it fails when it is not, it is never skipped.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A second listener with TLS: the broker's certificate and key, the CA that client certificates must chain to. */
export interface TlsListener {
  cert: string;
  key: string;
  ca: string;
  /** Refuse clients without a certificate from `ca`. */
  requireCertificate: boolean;
}

export class Mosquitto {
  private proc: ChildProcess | null = null;
  port = 0;
  tlsPort = 0;
  private log: string[] = [];

  constructor(
    private readonly dir: string,
    private readonly tls: TlsListener | null = null,
  ) {
    fs.mkdirSync(dir, { recursive: true });
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    if (this.tls !== null && this.tlsPort === 0) this.tlsPort = await freePort();
    const conf = path.join(this.dir, 'mosquitto.conf');
    const tls = this.tls;
    fs.writeFileSync(conf, [
      'per_listener_settings false',
      `listener ${this.port} 127.0.0.1`,
      ...(tls === null ? [] : [
        `listener ${this.tlsPort} 127.0.0.1`,
        `certfile ${tls.cert}`,
        `keyfile ${tls.key}`,
        `cafile ${tls.ca}`,
        `require_certificate ${tls.requireCertificate}`,
      ]),
      'allow_anonymous true',
      'persistence true',
      `persistence_location ${this.dir}/`,
      'max_queued_messages 100000',
      'max_inflight_messages 100',
      // Started as root it would drop to the mosquitto user, who cannot write into a private temp dir.
      ...(process.getuid?.() === 0 ? ['user root'] : []),
      'log_dest stderr',
      'log_type error',
      'log_type warning',
    ].join('\n') + '\n');
    const bin = fs.existsSync('/usr/sbin/mosquitto') ? '/usr/sbin/mosquitto' : 'mosquitto';
    const proc = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr?.on('data', (d: Buffer) => this.log.push(d.toString()));
    this.proc = proc;
    const spawned = new Promise<never>((_, reject) => proc.once('error', (err) => reject(new Error(`cannot start mosquitto (${bin}): ${err.message}; install it with apt-get install -y mosquitto`))));
    await Promise.race([waitForPort(this.port, 10_000), spawned]);
    if (this.tls !== null) await Promise.race([waitForPort(this.tlsPort, 10_000), spawned]);
  }

  /** Stops it as an operator would (SIGTERM: it writes its persistence file first). */
  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (p === null || p.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill('SIGTERM');
    await exited;
  }

  get stderr(): string {
    return this.log.join('');
  }
}

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}
