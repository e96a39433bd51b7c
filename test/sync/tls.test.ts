// Sync over TLS to a Mosquitto TLS listener that requires a client certificate: with the CA, the
// client certificate and key and the broker's name (servername), every summary arrives once;
// without the client certificate, or trusting another CA, the agent is refused, logs it once per
// cause and keeps its outbox.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningCollector } from '../../collector/cli/run.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { agentConfig, collector, expectExactlyOnce, InProcessAgent, readOutbox, storedSeqs, waitFor, writeWindows } from './harness.js';

const BROKER_NAME = 'broker.edgewatch.test';

function openssl(cwd: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd, stdio: 'ignore' });
}

/** A CA, a broker certificate for BROKER_NAME and a client certificate, all signed by the CA. */
function makeCerts(dir: string, prefix = ''): { ca: string; cert: string; key: string; clientCert: string; clientKey: string } {
  fs.mkdirSync(dir, { recursive: true });
  const f = (name: string) => path.join(dir, `${prefix}${name}`);
  openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=edgewatch test CA', '-keyout', f('ca.key'), '-out', f('ca.pem'));
  fs.writeFileSync(f('san.ext'), `subjectAltName=DNS:${BROKER_NAME}\n`);
  openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${BROKER_NAME}`, '-keyout', f('broker.key'), '-out', f('broker.csr'));
  openssl(dir, 'x509', '-req', '-in', f('broker.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', f('san.ext'), '-out', f('broker.pem'));
  openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=dev-e2e', '-keyout', f('client.key'), '-out', f('client.csr'));
  openssl(dir, 'x509', '-req', '-in', f('client.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-out', f('client.pem'));
  for (const name of ['ca.key', 'broker.key', 'client.key']) fs.chmodSync(f(name), 0o644);
  return { ca: f('ca.pem'), cert: f('broker.pem'), key: f('broker.key'), clientCert: f('client.pem'), clientKey: f('client.key') };
}

describe('sync over TLS with a client certificate', () => {
  let dir: string;
  let mosquitto: Mosquitto;
  let col: RunningCollector;
  let certs: ReturnType<typeof makeCerts>;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-tls-'));
    certs = makeCerts(path.join(dir, 'pki'));
    mosquitto = new Mosquitto(path.join(dir, 'mosquitto'), { cert: certs.cert, key: certs.key, ca: certs.ca, requireCertificate: true });
    await mosquitto.start();
    // The collector reads from the plain local listener; devices come in over TLS.
    col = await collector({ dataDir: path.join(dir, 'collector'), brokerUrl: mosquitto.url });
  }, 60_000);

  afterAll(async () => {
    await col?.close();
    await mosquitto?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every summary once with the CA, the client certificate and the broker name', async () => {
    const agentDir = path.join(dir, 'good');
    const agent = new InProcessAgent(agentConfig(agentDir, {
      mode: 'continuous',
      url: `mqtts://127.0.0.1:${mosquitto.tlsPort}`,
      tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey, servername: BROKER_NAME, reject_unauthorized: true },
    }));
    agent.start();
    try {
      writeWindows(agentDir, 0, 10);
      await waitFor('10 windows sent', () => readOutbox(agent.config.data_dir).nextSeq > 10 && readOutbox(agent.config.data_dir).messages === 0);
    } finally {
      await agent.halt();
    }
    expect(expectExactlyOnce(agent.config.data_dir, path.join(dir, 'collector')).windows).toBe(10);
  });

  it.each([
    ['without a client certificate', 'nocert'],
    ['trusting another CA', 'otherca'],
    ['with a broker name the certificate does not carry', 'wrongname'],
  ])('is refused %s, and keeps its outbox', async (_what, kind) => {
    const agentDir = path.join(dir, kind);
    const other = kind === 'otherca' ? makeCerts(path.join(dir, 'other-pki'), 'other-') : null;
    const tls = {
      ca: other?.ca ?? certs.ca,
      cert: kind === 'nocert' ? null : certs.clientCert,
      key: kind === 'nocert' ? null : certs.clientKey,
      servername: kind === 'wrongname' ? 'not-the-broker.test' : BROKER_NAME,
      reject_unauthorized: true,
    };
    const lines: string[] = [];
    const cfg = agentConfig(agentDir, { mode: 'continuous', url: `mqtts://127.0.0.1:${mosquitto.tlsPort}`, tls });
    const agent = new InProcessAgent({ ...cfg, device: { id: `dev-${kind}`, site: 'lab' } });
    agent.start(lines);
    try {
      writeWindows(agentDir, 0, 5);
      await waitFor('5 windows in the outbox', () => readOutbox(agent.config.data_dir).messages >= 5);
      await sleep(1500);
      expect(readOutbox(agent.config.data_dir).messages).toBeGreaterThanOrEqual(5);
    } finally {
      await agent.halt();
    }
    expect(col.store.device(`dev-${kind}`)).toBeNull();
    const refusals = lines.map((l) => JSON.parse(l) as { code?: string }).filter((l) => l.code === 'EW_ERR_SYNC');
    // Logged once per cause, not on every retry.
    expect(refusals.length).toBeGreaterThanOrEqual(1);
    expect(refusals.length).toBeLessThanOrEqual(3);
    expect(storedSeqs(path.join(dir, 'collector'))).toEqual(storedSeqs(path.join(dir, 'collector')));
  });
});
