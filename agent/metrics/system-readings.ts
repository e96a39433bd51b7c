// Maps agent/system reading names (dot paths such as `gpu.0.clock.sm`) to a metric family, its
// label values and the factor to the family's base unit (percent -> ratio, MHz -> hertz, ms ->
// seconds). Table-driven, first match wins; a name no rule knows goes to `edgewatch_system_reading`
// under its own name, so a reading a newer source adds is never lost.
import {
  AGENT, AGENT_ERRORS, CONTAINER, CPU_CORES, CPU_IOWAIT, CPU_USAGE, DISK, DISK_READ, DISK_WRITE, GPU, GPU_CLOCK, GPUS, LOAD,
  MEMORY, NET_DROPS, NET_ERRORS, NET_RX, NET_TX, PROCESS, SWAP, SYSTEM_OTHER, TEGRA, TEMPERATURE, type MetricFamily,
} from './families.js';

export interface MappedReading {
  family: MetricFamily;
  /** In the order of family.labels; '' leaves a label out. */
  labels: readonly string[];
  /** The reading in the family's unit; undefined when it is already in it. */
  convert: Convert | undefined;
}

type Convert = (v: number) => number;

interface Rule {
  pattern: RegExp;
  family: MetricFamily;
  convert: Convert | undefined;
  /** Label values from the match; by default the capture groups in order. */
  labels?: (m: RegExpExecArray) => string[];
}

// Division, not multiplication by 0.01: 45.5 / 100 is 0.455, 45.5 * 0.01 is 0.45499999999999996.
const PERCENT: Convert = (v) => v / 100;
const MHZ: Convert = (v) => v * 1e6;
const MS: Convert = (v) => v / 1000;
/** One metric-name part as agent/system writes it (metricPart: no dots). */
const PART = '([^.]+)';
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function rule(pattern: string, family: MetricFamily, convert?: Convert, labels?: Rule['labels']): Rule {
  return { pattern: new RegExp(`^${pattern}$`), family, convert, ...(labels ? { labels } : {}) };
}

/** One rule per suffix of a keyed family group: `<prefix>.<key>` (with the prefix's captures). */
function each(prefix: string, families: Record<string, MetricFamily>, converts: Record<string, Convert> = {}): Rule[] {
  return Object.entries(families).map(([key, f]) => rule(`${prefix}\\.${esc(key)}`, f, converts[key]));
}

const RULES: readonly Rule[] = [
  // proc-cpu.ts
  rule('cpu\\.total', CPU_USAGE, PERCENT, () => ['']),
  rule('cpu\\.core\\.(\\d+)', CPU_USAGE, PERCENT),
  rule('cpu\\.iowait', CPU_IOWAIT, PERCENT),
  rule('cpu\\.cores', CPU_CORES),
  rule('load\\.(\\d+m)', LOAD),
  // proc-memory.ts
  ...each('memory', MEMORY, { used_percent: PERCENT }),
  ...each('swap', SWAP),
  // proc-disk.ts: `disk.io.<device>.*` before `disk.<name>.*` ("io" is not a valid path name)
  rule(`disk\\.io\\.${PART}\\.read_bytes_per_s`, DISK_READ),
  rule(`disk\\.io\\.${PART}\\.write_bytes_per_s`, DISK_WRITE),
  ...each(`disk\\.${PART}`, DISK, { used_percent: PERCENT }),
  // proc-network.ts
  rule(`network\\.${PART}\\.rx_bytes_per_s`, NET_RX),
  rule(`network\\.${PART}\\.tx_bytes_per_s`, NET_TX),
  rule(`network\\.${PART}\\.errors_per_s`, NET_ERRORS),
  rule(`network\\.${PART}\\.drops_per_s`, NET_DROPS),
  // proc-temperature.ts: `temperature.<zone>` or `temperature.<chip>.<label>`, one sensor label
  rule('temperature\\.(.+)', TEMPERATURE),
  // nvidia-smi.ts and tegrastats.ts
  rule('gpu\\.count', GPUS),
  ...each('gpu\\.(\\d+)', GPU, { utilization: PERCENT, memory_utilization: PERCENT, fan: PERCENT }),
  rule('gpu\\.(\\d+)\\.clock\\.(sm|mem)', GPU_CLOCK, MHZ),
  // tegrastats.ts
  rule('tegra\\.ram\\.used', TEGRA.ram_used),
  rule('tegra\\.ram\\.total', TEGRA.ram_total),
  rule('tegra\\.swap\\.used', TEGRA.swap_used),
  rule('tegra\\.swap\\.total', TEGRA.swap_total),
  rule('tegra\\.cpu\\.(\\d+)\\.utilization', TEGRA.cpu_utilization, PERCENT),
  rule('tegra\\.cpu\\.(\\d+)\\.clock', TEGRA.cpu_clock, MHZ),
  rule('tegra\\.emc\\.utilization', TEGRA.emc_utilization, PERCENT),
  rule('tegra\\.emc\\.clock', TEGRA.emc_clock, MHZ),
  rule(`tegra\\.temperature\\.${PART}`, TEGRA.temperature),
  rule(`tegra\\.power\\.${PART}`, TEGRA.power),
  // process.ts, container.ts
  ...each(`process\\.${PART}`, PROCESS, { cpu: PERCENT }),
  ...each(`container\\.${PART}`, CONTAINER, { cpu: PERCENT }),
  // self.ts
  rule('agent\\.errors\\.([^.]+)\\.(.+)', AGENT_ERRORS),
  ...each('agent', AGENT, { cpu: PERCENT, commit_ms: MS }),
];

function lookup(name: string): MappedReading {
  for (const r of RULES) {
    const m = r.pattern.exec(name);
    if (m) return { family: r.family, labels: r.labels ? r.labels(m) : m.slice(1), convert: r.convert };
  }
  return { family: SYSTEM_OTHER, labels: [name], convert: undefined };
}

// Reading names repeat every round, so each is matched once. Bounded in case a source ever puts
// something unbounded (a pid, a timestamp) into its names.
const CACHE_LIMIT = 4096;
const cache = new Map<string, MappedReading>();

export function mapSystemReading(name: string): MappedReading {
  let mapped = cache.get(name);
  if (mapped === undefined) {
    mapped = lookup(name);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(name, mapped);
  }
  return mapped;
}
