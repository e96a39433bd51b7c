// `npm start`: generates a sample inference log (with some malformed lines and drift), runs the
// agent on it once with config/demo.yaml, and prints the status table and the alerts it raised.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const demo = path.join(root, '.demo');
fs.rmSync(demo, { recursive: true, force: true });
fs.mkdirSync(path.join(demo, 'logs'), { recursive: true });
const agent = path.join(root, 'dist/edgewatch-agent.js');
if (!fs.existsSync(agent)) execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs')], { stdio: 'inherit' });

const run = (args) => execFileSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
console.log('generating .demo/logs/app.jsonl (20,000 records, 1% malformed, drift after record 12,000)');
run(['--import', 'tsx', 'scripts/gen-logs.ts', '--out', path.join(demo, 'logs/app.jsonl'), '--records', '20000',
  '--seed', '7', '--rate', '20', '--malformed-rate', '0.01', '--drift-from', '12000']);
console.log('\nedgewatch-agent run --config config/demo.yaml --once\n');
run([agent, 'run', '--config', 'config/demo.yaml', '--once', '--log-level', 'warn']);
console.log('\nedgewatch-agent alerts --config config/demo.yaml\n');
run([agent, 'alerts', '--config', 'config/demo.yaml']);
console.log(`\nclosed windows with their drift: node dist/edgewatch-agent.js windows --config config/demo.yaml --model fraud --json`);
console.log(`versions side by side: node dist/edgewatch-agent.js compare --config config/demo.yaml --model fraud`);
