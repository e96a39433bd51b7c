// A TCP link between a device and its broker that a test controls: up or down (down cuts every
// connection and refuses new ones, as a dead uplink does), and a switch that holds the broker's
// replies (PUBACKs) so a test can kill the agent after its messages reached the broker but before
// it heard back.
import net from 'node:net';

export class Link {
  private server: net.Server;
  private readonly pairs = new Set<{ client: net.Socket; upstream: net.Socket; held: Buffer[] }>();
  private isUp = true;
  private holding = false;
  port = 0;

  constructor(private readonly target: () => { host: string; port: number }) {
    this.server = net.createServer((client) => this.accept(client));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  private accept(client: net.Socket): void {
    if (!this.isUp) {
      client.destroy();
      return;
    }
    const { host, port } = this.target();
    const upstream = net.connect(port, host);
    const pair = { client, upstream, held: [] as Buffer[] };
    this.pairs.add(pair);
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => {
      if (this.holding) pair.held.push(d);
      else client.write(d);
    });
    const close = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close);
    upstream.on('close', close);
    client.on('error', close);
    upstream.on('error', close);
  }

  /** Cuts every connection and refuses new ones until up(). */
  down(): void {
    this.isUp = false;
    for (const p of [...this.pairs]) {
      p.client.destroy();
      p.upstream.destroy();
    }
  }

  up(): void {
    this.isUp = true;
  }

  /** Holds (true) or delivers (false) what the broker sends to the device. */
  hold(on: boolean): void {
    this.holding = on;
    if (!on) {
      for (const p of this.pairs) {
        for (const d of p.held) p.client.write(d);
        p.held.length = 0;
      }
    }
  }

  /** Bytes the broker sent that are being held. */
  get heldBytes(): number {
    let n = 0;
    for (const p of this.pairs) for (const d of p.held) n += d.length;
    return n;
  }

  async close(): Promise<void> {
    this.down();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
