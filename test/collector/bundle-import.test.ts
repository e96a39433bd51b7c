import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BUNDLE_MAGIC, BundleError, writeBundle } from '../../agent/wire/index.js';
import { main } from '../../collector/cli/main.js';
import { harness, oneOfEach, summary, profile, windowBody, T0, type Harness, type Message } from './messages.js';

let h: Harness;
afterEach(() => h?.close());

const KEY = 'bundle-key';
const bundleOf = (messages: Message[], hmacKey: string | null = KEY, device = 'd1', site = 's1') =>
  writeBundle({ device, site, createdAt: T0, messages: messages.map((m) => ({ seq: m.seq, bytes: m.bytes })), hmacKey });
const rows = () => (h.store.db.prepare('SELECT (SELECT COUNT(*) FROM messages) + (SELECT COUNT(*) FROM devices) + (SELECT COUNT(*) FROM rejections) AS n').get() as { n: number }).n;
const signed = { hmacKey: KEY, requireHmac: false };

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => (out += s + '\n'), err: (s) => (err += s + '\n') });
  return { code, out, err };
}

describe('bundle import', () => {
  it('round trip: every message stored as if it came over MQTT', () => {
    h = harness();
    const msgs = [...oneOfEach(), summary({ seq: 5 }, windowBody(profile({ index: 2 })))];
    const r = h.ingest.importBundle(bundleOf(msgs), signed);
    expect(r).toEqual({ messages: 5, stored: 5, duplicates: 0, refused: 0, refusedBy: {} });
    expect(h.store.status()).toMatchObject({ devices: 1, summaries: 3, duplicates: 0, gaps: [{ device: 'd1', from_seq: 100, to_seq: 101 }] });
    expect(h.store.device('d1')?.last_seq).toBe(5);
  });

  it('importing twice stores nothing new: every message is a duplicate', () => {
    h = harness();
    const buf = bundleOf(oneOfEach());
    h.ingest.importBundle(buf, signed);
    expect(h.ingest.importBundle(buf, signed)).toMatchObject({ stored: 0, duplicates: 4 });
    expect(h.store.status()).toMatchObject({ summaries: 2, duplicates: 4 });
    // And the same messages over MQTT afterwards are duplicates too.
    const first = oneOfEach()[0]!;
    expect(h.ingest.fromMqtt(first.topic, first.bytes).status).toBe('duplicate');
  });

  it('one corrupted byte anywhere refuses the whole bundle and stores nothing', () => {
    const buf = bundleOf(oneOfEach());
    const magic = BUNDLE_MAGIC.length;
    const headerLen = buf.readUInt32BE(magic);
    const content = magic + 4 + headerLen;
    const positions = [0, magic - 1, magic + 3, magic + 4, magic + 4 + Math.floor(headerLen / 2), content - 1, content, content + 1, Math.floor((content + buf.length) / 2), buf.length - 1];
    for (const at of positions) {
      h = harness();
      const bad = Buffer.from(buf);
      bad[at] = bad[at]! ^ 0x55;
      expect(() => h.ingest.importBundle(bad, signed), `byte ${at}`).toThrow(BundleError);
      expect(rows(), `byte ${at}`).toBe(0);
      h.close();
    }
    h = harness();
    expect(() => h.ingest.importBundle(buf.subarray(0, buf.length - 1), signed)).toThrow(/damaged bundle: the SHA-256/);
    expect(() => h.ingest.importBundle(Buffer.concat([buf, Buffer.from([0])]), signed)).toThrow(/SHA-256/);
  });

  it('a wrong key, or no signature where one is required, is refused', () => {
    h = harness();
    expect(() => h.ingest.importBundle(bundleOf(oneOfEach()), { hmacKey: 'other', requireHmac: false })).toThrow(/does not match the configured key/);
    expect(() => h.ingest.importBundle(bundleOf(oneOfEach()), { hmacKey: null, requireHmac: false })).toThrow(/no key is configured/);
    expect(() => h.ingest.importBundle(bundleOf(oneOfEach(), null), { hmacKey: KEY, requireHmac: true })).toThrow(/not signed and bundles.require_hmac/);
    expect(rows()).toBe(0);
    expect(h.ingest.importBundle(bundleOf(oneOfEach(), null), { hmacKey: null, requireHmac: false }).stored).toBe(4);
  });

  it('messages of another device than the header are refused one by one', () => {
    h = harness();
    const r = h.ingest.importBundle(bundleOf([...oneOfEach(), ...oneOfEach('d2')]), signed);
    expect(r).toMatchObject({ stored: 4, refused: 4, refusedBy: { topic_mismatch: 4 } });
    expect(h.store.rejections()).toEqual([expect.objectContaining({ device: 'd1', reason: 'topic_mismatch', count: 4, last_detail: 'the bundle header says s1/d1, the envelope s1/d2' })]);
  });

  it('fromBundle takes one envelope with no header to hold it against', () => {
    h = harness();
    const m = oneOfEach('d9')[0]!;
    expect(h.ingest.fromBundle(m.bytes).status).toBe('stored');
    expect(h.ingest.fromBundle(new Uint8Array([1, 2]))).toMatchObject({ status: 'refused', reason: 'not_cbor' });
    expect(h.store.rejections()[0]?.device).toBe('');
  });

  it('edgewatch-collector import and status', async () => {
    h = harness();
    h.store.close();
    const cfg = path.join(h.dir, 'collector.yaml');
    fs.writeFileSync(cfg, `data_dir: data\nbundles:\n  hmac_key: ${KEY}\n`);
    const file = path.join(h.dir, 'd1.bundle');
    fs.writeFileSync(file, bundleOf(oneOfEach()));
    const first = await cli('import', file, '--config', cfg);
    expect(first).toMatchObject({ code: 0, err: '' });
    expect(first.out).toBe(`imported ${file}: 4 messages, 4 stored, 0 duplicate, 0 refused\n`);
    expect((await cli('import', file, '--config', cfg)).out).toContain('0 stored, 4 duplicate');

    const json = await cli('status', '--config', cfg, '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out)).toEqual({ devices: 1, summaries: 2, duplicates: 4, rejected: {}, gaps: [{ device: 'd1', from_seq: 100, to_seq: 101, records: 600 }] });
    const text = await cli('status', '--config', cfg);
    expect(text.out).toMatch(/devices\s+1\nsummaries\s+2\nduplicates\s+4/);
    expect(text.out).toContain('d1: seq 100-101, 600 records');

    const bad = Buffer.from(fs.readFileSync(file));
    bad[bad.length - 3] = bad[bad.length - 3]! ^ 1;
    fs.writeFileSync(file, bad);
    const refused = await cli('import', file, '--config', cfg);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/bundle refused, nothing imported: damaged bundle: the SHA-256/);

    fs.writeFileSync(file, bundleOf([...oneOfEach('d1').slice(0, 1), ...oneOfEach('d2').slice(0, 1)]));
    const partly = await cli('import', file, '--config', cfg);
    expect(partly.code).toBe(1);
    expect(partly.out).toContain('1 refused (topic_mismatch 1)');
  });

  it('command line usage and configuration errors exit 2', async () => {
    expect((await cli()).code).toBe(2);
    expect((await cli('--help')).out).toContain('edgewatch-collector import FILE');
    expect(await cli('frobnicate')).toMatchObject({ code: 2, err: expect.stringMatching(/unknown command "frobnicate"/) });
    expect(await cli('import')).toMatchObject({ code: 2, err: expect.stringMatching(/expected one bundle FILE/) });
    expect(await cli('status', '--bogus')).toMatchObject({ code: 2 });
    h = harness();
    const cfg = path.join(h.dir, 'bad.yaml');
    fs.writeFileSync(cfg, 'mqtt:\n  max_message_bytes: lots\n');
    expect(await cli('status', '--config', cfg)).toMatchObject({ code: 2, err: expect.stringMatching(/invalid configuration \(EW_ERR_CONFIG_INVALID\)\n[\s\S]*mqtt\.max_message_bytes/) });
    expect(await cli('import', path.join(h.dir, 'missing.bundle'), '--config', cfg)).toMatchObject({ code: 2 });
    fs.writeFileSync(cfg, `data_dir: .\n`);
    expect(await cli('import', path.join(h.dir, 'missing.bundle'), '--config', cfg)).toMatchObject({ code: 1, err: expect.stringMatching(/cannot read bundle/) });
    expect((await cli('--version')).out).toMatch(/\d+\.\d+\.\d+/);
  });
});
