// `npm start`: the whole path on one machine. Generates a sample inference log (some malformed
// lines, drift after record 12,000), starts the collector with its embedded MQTT broker and HTTP
// API on free ports, runs the agent on the log with config/demo.yaml (ingest, close the windows,
// send the outbox to the collector over MQTT), prints what arrived and the API's URL, and keeps the
// collector running until Ctrl-C. `npm start -- --exit` (or EW_DEMO_EXIT=1) stops after printing.
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const demo = path.join(root, '.demo');
const exitAfter = process.argv.includes('--exit') || process.env.EW_DEMO_EXIT === '1';
fs.rmSync(demo, { recursive: true, force: true });
fs.mkdirSync(path.join(demo, 'logs'), { recursive: true });
const agentBin = path.join(root, 'dist/edgewatch-agent.js');
const collectorBin = path.join(root, 'dist/edgewatch-collector.js');
if (!fs.existsSync(agentBin) || !fs.existsSync(collectorBin)) {
  execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs')], { stdio: 'inherit' });
  execFileSync(process.execPath, [path.join(root, 'scripts/build-collector.mjs')], { stdio: 'inherit' });
}
const run = (args) => execFileSync(process.execPath, args, { cwd: root, stdio: 'inherit' });

console.log('generating .demo/logs/app.jsonl (20,000 records, 1% malformed, drift after record 12,000)');
run(['--import', 'tsx', 'scripts/gen-logs.ts', '--out', path.join(demo, 'logs/app.jsonl'), '--records', '20000',
  '--seed', '7', '--rate', '20', '--malformed-rate', '0.01', '--drift-from', '12000']);

// The collector: embedded broker and API on ports the kernel picks (another broker, such as
// Mosquitto, may hold 1883 on this machine), the demo device with its own password.
const password = crypto.randomBytes(12).toString('hex');
// A read-only API token; it goes into .demo/collector.yaml and the curl lines printed below.
const token = crypto.randomBytes(24).toString('hex');
const collectorYaml = path.join(demo, 'collector.yaml');
fs.writeFileSync(collectorYaml, [
  'data_dir: ./collector-data',
  'mqtt:',
  '  listen: "127.0.0.1:0"',
  '  devices:',
  `    - {id: demo-device, password: "${password}"}`,
  'http:',
  '  listen: "127.0.0.1:0"',
  '  tokens:',
  `    - {name: demo, token: "${token}", role: read}`,
].join('\n') + '\n');
console.log('\nedgewatch-collector run --config .demo/collector.yaml');
const collector = spawn(process.execPath, [collectorBin, 'run', '--config', collectorYaml, '--log-level', 'warn'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
const endpoints = await new Promise((resolve, reject) => {
  const found = {};
  const lines = readline.createInterface({ input: collector.stdout });
  lines.on('line', (line) => {
    console.log(`  ${line}`);
    const mqtt = /mqtt broker listening on (mqtt:\/\/\S+)/.exec(line);
    const http = /http api on (http:\/\/\S+?)\/api\/devices/.exec(line);
    if (mqtt) found.mqtt = mqtt[1];
    if (http) found.http = http[1];
    if (found.mqtt && found.http) resolve(found);
  });
  collector.once('exit', (code) => reject(new Error(`the collector exited (${code}) before it was listening`)));
});
const stopCollector = () => new Promise((resolve) => {
  if (collector.exitCode !== null) return resolve();
  collector.once('exit', () => resolve());
  collector.kill('SIGTERM');
});

// The agent: config/demo.yaml, its paths under .demo/, syncing to that broker.
const agentYaml = path.join(demo, 'agent.yaml');
fs.writeFileSync(agentYaml, fs.readFileSync(path.join(root, 'config/demo.yaml'), 'utf8').replaceAll('../.demo/', './') + [
  '# Added by scripts/demo.mjs: send the summaries to the demo collector.',
  'sync:',
  '  mode: continuous',
  `  url: "${endpoints.mqtt}"`,
  `  password: "${password}"`,
].join('\n') + '\n');
try {
  console.log('\nedgewatch-agent run --config .demo/agent.yaml --once   (ingest, close the windows, sync)\n');
  run([agentBin, 'run', '--config', agentYaml, '--once', '--log-level', 'warn']);
  console.log('\nedgewatch-agent alerts --config .demo/agent.yaml\n');
  run([agentBin, 'alerts', '--config', agentYaml]);
  console.log('\nedgewatch-collector status --config .demo/collector.yaml\n');
  run([collectorBin, 'status', '--config', collectorYaml]);
  const auth = { headers: { authorization: `Bearer ${token}` } };
  const devices = await (await fetch(`${endpoints.http}/api/devices`, auth)).json();
  const d = devices.devices?.[0];
  console.log(`\nthe collector's API: ${endpoints.http}/api/devices (token in .demo/collector.yaml)`);
  if (d) {
    console.log(`  ${d.id} (site ${d.site}): ${d.summaries} summaries, last seq ${d.last_seq}, agent ${d.agent_version}`);
    console.log(`  curl -s -H 'Authorization: Bearer ${token}' '${endpoints.http}/api/devices/${d.id}/windows?model=fraud'`);
    console.log(`  curl -s -H 'Authorization: Bearer ${token}' '${endpoints.http}/api/models'`);
  }
} catch (err) {
  await stopCollector();
  throw err;
}
if (exitAfter) {
  await stopCollector();
} else {
  console.log('\nthe collector keeps running; Ctrl-C stops it');
  const stop = async () => {
    await stopCollector();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  collector.once('exit', (code) => process.exit(code ?? 0));
}
