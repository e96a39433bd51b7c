// scripts/install.sh under --root (no user is created, systemctl is not run: said instead) and the
// systemd units, checked by systemd's own `systemd-analyze verify`.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../agent/config/load.js';
import { parseCollectorConfig } from '../../collector/config/load.js';
import { AGENT_MALLOC_ENV } from '../../scripts/agent-runtime.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SCRIPT = path.join(ROOT, 'scripts', 'install.sh');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-install-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function install(root: string, ...args: string[]): string {
  return execFileSync('sh', [SCRIPT, '--root', root, ...args], { encoding: 'utf8' });
}

describe('install.sh', () => {
  for (const role of ['agent', 'collector'] as const) {
    it(`${role}: installs, runs again without changing a kept config, uninstalls keeping the data, purges`, () => {
      const root = path.join(dir, role);
      const name = `edgewatch-${role}`;
      const binary = path.join(ROOT, 'dist', `${name}-linux-x64`);
      const flags = role === 'collector' ? ['--collector'] : [];
      const first = install(root, ...flags, '--binary', binary);
      expect(first).toContain(`would run: systemctl enable ${name}.service`);
      expect(first).toContain(`would run: systemctl restart ${name}.service`);
      const bin = path.join(root, 'usr/local/bin', name);
      expect(fs.statSync(bin).size).toBe(fs.statSync(binary).size);
      expect(fs.statSync(bin).mode & 0o777).toBe(0o755);
      expect(fs.readFileSync(path.join(root, 'etc/systemd/system', `${name}.service`), 'utf8')).toBe(fs.readFileSync(path.join(ROOT, 'config', `${name}.service`), 'utf8'));
      expect(fs.statSync(path.join(root, 'var/lib', name)).isDirectory()).toBe(true);

      // The minimal config it writes is a valid config, with the data folder the unit allows.
      const conf = path.join(root, 'etc/edgewatch', `${role}.yaml`);
      const text = fs.readFileSync(conf, 'utf8');
      const dataDir = role === 'agent' ? parseAgentConfig(text, { sourcePath: conf, env: {} }).data_dir : parseCollectorConfig(text, { source: conf }).data_dir;
      expect(dataDir).toBe(`/var/lib/${name}`);

      // Again (an upgrade): the edited config stays, nothing is left half-written.
      fs.appendFileSync(conf, '# edited\n');
      expect(install(root, ...flags, '--binary', binary, '--no-start')).toContain(`kept the config at ${conf}`);
      expect(fs.readFileSync(conf, 'utf8')).toBe(`${text}# edited\n`);
      expect(fs.readdirSync(path.dirname(bin))).toEqual([name]);

      expect(install(root, ...flags, '--uninstall')).toContain('kept');
      expect(fs.existsSync(bin)).toBe(false);
      expect(fs.existsSync(path.join(root, 'etc/systemd/system', `${name}.service`))).toBe(false);
      expect(fs.existsSync(conf)).toBe(true);
      expect(fs.existsSync(path.join(root, 'var/lib', name))).toBe(true);

      install(root, ...flags, '--uninstall', '--purge');
      expect(fs.existsSync(conf)).toBe(false);
      expect(fs.existsSync(path.join(root, 'var/lib', name))).toBe(false);
    });
  }

  it('refuses a missing binary and an unknown option plainly', () => {
    const r = spawnSync('sh', [SCRIPT, '--root', path.join(dir, 'x'), '--binary', path.join(dir, 'nope')], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`no executable at ${path.join(dir, 'nope')}`);
    const u = spawnSync('sh', [SCRIPT, '--frobnicate'], { encoding: 'utf8' });
    expect(u.status).toBe(2);
    expect(u.stderr).toContain('unknown option --frobnicate');
  });
});

describe('the systemd units', () => {
  for (const name of ['edgewatch-agent', 'edgewatch-collector']) {
    it(`${name}.service passes systemd-analyze verify with no warning, and confines the service`, () => {
      const unit = fs.readFileSync(path.join(ROOT, 'config', `${name}.service`), 'utf8');
      for (const line of ['User=edgewatch', 'ProtectSystem=strict', `ReadWritePaths=/var/lib/${name}`, 'Restart=on-failure', 'NoNewPrivileges=true']) expect(unit).toContain(line);
      expect(unit).toMatch(/^MemoryMax=\d+[MG]$/m);
      if (name === 'edgewatch-agent') {
        expect(unit).toContain('SupplementaryGroups=edgewatch-logs');
        // The malloc settings the bundle's shebang gives the agent (glibc reads them only at start).
        expect(unit).toContain(`Environment=${Object.entries(AGENT_MALLOC_ENV).map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
      }
      // verify needs the ExecStart binary to exist: the built one stands in for /usr/local/bin.
      const file = path.join(dir, `${name}.service`);
      fs.writeFileSync(file, unit.replace(`/usr/local/bin/${name}`, path.join(ROOT, 'dist', `${name}-linux-x64`)));
      const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
      expect({ status: r.status, out: r.stdout + r.stderr }).toEqual({ status: 0, out: '' });
    });
  }
});
