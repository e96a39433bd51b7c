// cbor-x's native extension (cbor-extract) against its pure-JS path, on real agent messages, to
// choose what the single executables carry (docs/binary.md). The native part only reads strings
// faster while decoding; encoding is JavaScript either way. The agent encodes (every summary) and
// decodes little (a gap, a bundle header); the collector decodes every envelope and body it takes.
//
// The messages: the bundle agent runs `run --once` on generated logs (12 one-minute windows, with a
// learned baseline) and exports its outbox. Each path is measured in a child process of its own
// (cbor-x reads CBOR_NATIVE_ACCELERATION_DISABLED when it loads): time to load cbor-x, then
// envelope + body decodes and body encodes, each for about 2 s. JSON on stdout.
//
//   npm run build && node --import tsx scripts/bench/cbor-native.ts
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeLogFile } from '../gen-logs/write.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SELF = fileURLToPath(import.meta.url);

function rate(fn: () => number): { per_s: number; mb_per_s: number } {
  let n = 0;
  let bytes = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 2_000) {
    bytes += fn();
    n++;
  }
  const s = (performance.now() - t0) / 1000;
  return { per_s: Math.round(n / s), mb_per_s: +(bytes / s / 1e6).toFixed(1) };
}

async function child(bundleFile: string): Promise<void> {
  const t0 = performance.now();
  const cbor = await import('cbor-x');
  const loadMs = performance.now() - t0;
  const { readBundle } = await import('../../agent/wire/bundle.js');
  const { decodeEnvelope, unpackBody, decodeCbor, encodeCbor } = await import('../../agent/wire/envelope.js');
  const { messages } = readBundle(fs.readFileSync(bundleFile), { hmacKey: null, requireHmac: false });
  const bodies = messages.map((m) => {
    const env = decodeEnvelope(m, 64 * 1024 * 1024);
    if (!env.ok) throw new Error(env.detail);
    const plain = unpackBody(env.value);
    if (!plain.ok) throw new Error(plain.detail);
    return plain.value;
  });
  const values = bodies.map((b) => decodeCbor(b));
  let i = 0;
  const decodeEnv = rate(() => {
    const m = messages[i++ % messages.length]!;
    decodeEnvelope(m, 64 * 1024 * 1024);
    return m.length;
  });
  const decodeBody = rate(() => {
    const b = bodies[i++ % bodies.length]!;
    decodeCbor(b);
    return b.length;
  });
  const encodeBody = rate(() => encodeCbor(values[i++ % values.length]).length);
  console.log(
    JSON.stringify({
      native: cbor.isNativeAccelerationEnabled,
      load_cbor_x_ms: +loadMs.toFixed(1),
      messages: messages.length,
      body_bytes_mean: Math.round(bodies.reduce((s, b) => s + b.length, 0) / bodies.length),
      decode_envelope: decodeEnv,
      decode_body: decodeBody,
      encode_body: encodeBody,
    }),
  );
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-bench-cbor-'));
  try {
    fs.mkdirSync(path.join(dir, 'logs'));
    writeLogFile(path.join(dir, 'logs', 'app.jsonl'), { seed: 5, records: 72_000, rate: 100, arrivals: 'even' });
    const cfg = path.join(dir, 'agent.yaml');
    fs.writeFileSync(cfg, ['device: {id: bench, site: lab}', 'data_dir: ./data', 'system: {enabled: false}', 'sync: {mode: manual}', 'models:', '  - {name: fraud, task: classification, logs: [./logs/*.jsonl], window: 1m, baseline: {learn: {records: 6000}}}', ''].join('\n'));
    const agent = path.join(ROOT, 'dist', 'edgewatch-agent.js');
    execFileSync(process.execPath, [agent, 'run', '--config', cfg, '--once'], { cwd: dir, stdio: 'ignore' });
    const bundleFile = path.join(dir, 'out.ewb');
    execFileSync(process.execPath, [agent, 'export', '--config', cfg, '--out', bundleFile], { cwd: dir, stdio: 'ignore' });
    const run = (env: NodeJS.ProcessEnv) =>
      JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', SELF, '--child', bundleFile], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8' }).trim().split('\n').at(-1)!);
    const env = { ...process.env };
    delete env['CBOR_NATIVE_ACCELERATION_DISABLED'];
    const native = run(env);
    const js = run({ CBOR_NATIVE_ACCELERATION_DISABLED: 'true' });
    if (!native.native || js.native) throw new Error(`expected native then JS, got ${native.native} and ${js.native} (is cbor-extract built in node_modules?)`);
    const ratio = (a: number, b: number) => +(a / b).toFixed(2);
    console.log(
      JSON.stringify(
        {
          node: process.version,
          cpus: os.cpus().length,
          native,
          pure_js: js,
          native_over_js: {
            decode_envelope: ratio(native.decode_envelope.per_s, js.decode_envelope.per_s),
            decode_body: ratio(native.decode_body.per_s, js.decode_body.per_s),
            encode_body: ratio(native.encode_body.per_s, js.encode_body.per_s),
          },
        },
        null,
        2,
      ),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(process.argv[3]!);
else await main();
