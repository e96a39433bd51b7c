// The `system:` section: what the sampler reads besides the models' logs, and how often.
import { bool, fsPath, list, measure, object, optional, record, str, withDefault } from './checkers.js';
import { SECOND_MS } from './errors.js';
import type { ProcessWatchConfig, SystemConfig } from './types.js';

const PART = /^[A-Za-z0-9_-]{1,64}$/;
// Names become one part of a metric name (`system.process.<name>.up`), so no dots.
const partName = str('1-64 characters of A-Z a-z 0-9 _ - (one part of a metric name)', (s) => PART.test(s));

const processWatch = object(
  {
    name: partName,
    process_name: optional(str('a process name as in /proc/<pid>/comm or the program in its command line')),
    pid_file: optional(fsPath),
    systemd_unit: optional(str('a systemd unit such as "triton.service"', (s) => /^[A-Za-z0-9@._:-]+$/.test(s) && s !== '.' && s !== '..')),
  },
  (v, report): ProcessWatchConfig => {
    const given = [v.process_name, v.pid_file, v.systemd_unit].filter((x) => x !== undefined).length;
    if (given !== 1) report([], 'give exactly one of process_name, pid_file or systemd_unit');
    const match =
      v.process_name !== undefined
        ? { process_name: v.process_name }
        : v.pid_file !== undefined
          ? { pid_file: v.pid_file }
          : { systemd_unit: v.systemd_unit ?? '' };
    return { name: v.name, match };
  },
);

export const systemSection = object(
  {
    enabled: withDefault(bool, true),
    interval: withDefault(measure('duration', { min: SECOND_MS }), '10s'),
    gpu: withDefault(bool, true),
    mounts: withDefault(record('names (one part of a metric name)', fsPath), {}),
    processes: withDefault(list(processWatch, { of: 'processes to watch' }), []),
    containers: withDefault(
      object({ socket: withDefault(fsPath, '/var/run/docker.sock'), names: withDefault(list(str('a container name'), { of: 'container names', unique: true }), []) }, (v) => v),
      {},
    ),
    proc_root: withDefault(fsPath, '/proc'),
    sys_root: withDefault(fsPath, '/sys'),
  },
  (v, report): SystemConfig => {
    for (const name of Object.keys(v.mounts)) {
      if (!PART.test(name) || name === 'io' || name === 'data') {
        report(['mounts', name], 'a mount name is one part of a metric name (A-Z a-z 0-9 _ -), and not "io" or "data" (the data dir)');
      }
    }
    const seen = new Set<string>();
    v.processes.forEach((p, i) => {
      if (seen.has(p.name)) report(['processes', i, 'name'], `${JSON.stringify(p.name)} is already watched; process names must be unique`);
      seen.add(p.name);
    });
    // Container names become one metric name part (container.<name>.*), other characters as "_".
    const parts = new Map<string, string>();
    for (const name of v.containers.names) {
      const part = name.replace(/[^A-Za-z0-9_-]/g, '_');
      const other = parts.get(part);
      if (other !== undefined) {
        report(['containers', 'names'], `${JSON.stringify(other)} and ${JSON.stringify(name)} both become container.${part}.* in metric names`);
      }
      parts.set(part, name);
    }
    return {
      enabled: v.enabled,
      interval_ms: v.interval,
      gpu: v.gpu,
      mounts: v.mounts,
      processes: v.processes,
      containers: v.containers,
      proc_root: v.proc_root,
      sys_root: v.sys_root,
    };
  },
);
