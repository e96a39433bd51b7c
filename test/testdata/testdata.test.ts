// Fixture cases as folders (Telegraf's testcases): each test/testdata/<case>/ holds an agent.yaml,
// its input log and expected.json; one loop runs the agent once on each and compares what
// `status --json` and `windows --json` report with the expected subset.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CASES = fs.readdirSync(HERE).filter((d) => fs.existsSync(path.join(HERE, d, 'expected.json')));

async function cliOk(argv: string[]): Promise<string> {
  const { code, out, err } = await cli(...argv);
  if (code !== 0) throw new Error(`edgewatch-agent ${argv.join(' ')} exited ${code}: ${err}`);
  return out;
}

describe('fixture cases', () => {
  it('has cases', () => expect(CASES.length).toBeGreaterThanOrEqual(3));

  for (const name of CASES) {
    it(name, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ew-case-${name}-`));
      try {
        fs.cpSync(path.join(HERE, name), dir, { recursive: true });
        const config = path.join(dir, 'agent.yaml');
        const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as {
          status: { models: Record<string, unknown> };
          windows: unknown[];
        };
        await cliOk(['run', '--config', config, '--once', '--log-level', 'error']);
        const status = JSON.parse(await cliOk(['status', '--config', config, '--json'])) as { models: Record<string, unknown> };
        expect(status).toMatchObject(expected.status);
        const model = Object.keys(expected.status.models)[0]!;
        const windows = (await cliOk(['windows', '--config', config, '--model', model, '--json']))
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as unknown);
        expect(windows).toHaveLength(expected.windows.length);
        expect(windows).toMatchObject(expected.windows);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
