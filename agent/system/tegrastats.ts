// NVIDIA Jetson through `tegrastats`: the integrated GPU (GR3D), RAM, CPU cores, memory
// controller, thermal zones and power rails, from the first line the tool prints. tegrastats
// prints a line per interval forever, so each round starts it, takes one line and kills it.
// The line's format drifts between JetPack releases (a leading date from L4T 35, `GR3D_FREQ n%`
// with or without `@MHz` or `@[MHz,...]`, rails in `mW/mW` or bare `n/n`); each field is matched
// on its own so a field that is missing or new does not spoil the others.
import { readFirstLine } from './exec.js';
import { SourceError, type Readings, type SourceEnv, type SystemSource } from './source.js';

const MIB = 1024 * 1024;
/** tegrastats writes -256C for a sensor it cannot read (e.g. a power-gated GPU or CV engine). */
const NO_SENSOR_BELOW_C = -200;
/** Rails that carry the GPU alone; combined rails (VDD_GPU_SOC, VDD_CPU_GPU_CV) give no gpu.0.power. */
const GPU_RAILS = new Set(['pom_5v_gpu', 'vdd_sys_gpu', 'vdd_gpu']);

const RAM = /\bRAM (\d+)\/(\d+)MB\b/;
const SWAP = /\bSWAP (\d+)\/(\d+)MB\b/;
const CPU = /\bCPU \[([^\]]*)\](?:@(\d+))?/i;
const EMC = /\bEMC(?:_FREQ)? (\d+)%(?:@(\d+))?/;
const GR3D = /\bGR3D(?:_FREQ)? (\d+)%(?:@(\d+|\[[\d,]+\]))?/;
const TEMPERATURE = /(?:^|\s)([A-Za-z][\w-]*)@(-?\d+(?:\.\d+)?)C(?=[\s/]|$)/g;
const RAIL = /(?:^|\s)([A-Z][A-Z0-9_]*) (\d+)(?:mW)?\/(\d+)(?:mW)?(?=\s|$)/g;

/** Readings from one tegrastats line. A line without RAM (the one field every release prints) rejects 'parse'. */
export function parseTegrastatsLine(line: string): Readings {
  const readings: Readings = new Map();
  const ram = RAM.exec(line);
  if (!ram) throw new SourceError('parse', `tegrastats: no RAM field in "${line.slice(0, 200)}"`);
  readings.set('tegra.ram.used', Number(ram[1]) * MIB);
  readings.set('tegra.ram.total', Number(ram[2]) * MIB);

  const swap = SWAP.exec(line);
  if (swap) {
    readings.set('tegra.swap.used', Number(swap[1]) * MIB);
    readings.set('tegra.swap.total', Number(swap[2]) * MIB);
  }

  const cpu = CPU.exec(line);
  if (cpu) {
    // `[12%@1479,off,...]` per core, or `[17%,13%]@408` with one shared clock on old releases.
    cpu[1]!.split(',').forEach((core, i) => {
      const m = /^\s*(\d+)%(?:@(\d+))?\s*$/.exec(core);
      if (!m) return; // 'off': the core is powered down
      readings.set(`tegra.cpu.${i}.utilization`, Number(m[1]));
      const clock = m[2] ?? cpu[2];
      if (clock !== undefined) readings.set(`tegra.cpu.${i}.clock`, Number(clock));
    });
  }

  const emc = EMC.exec(line);
  if (emc) {
    readings.set('tegra.emc.utilization', Number(emc[1]));
    if (emc[2] !== undefined) readings.set('tegra.emc.clock', Number(emc[2]));
  }

  readings.set('gpu.count', 1);
  const gr3d = GR3D.exec(line);
  if (gr3d) {
    readings.set('gpu.0.utilization', Number(gr3d[1]));
    // `@[305,305]` is one clock per GPC; they move together, report the highest.
    const clocks = gr3d[2]?.replace(/[[\]]/g, '').split(',').map(Number) ?? [];
    if (clocks.length > 0) readings.set('gpu.0.clock.sm', Math.max(...clocks));
  }

  for (const [, name, value] of line.matchAll(TEMPERATURE)) {
    const celsius = Number(value);
    if (celsius <= NO_SENSOR_BELOW_C) continue;
    const key = name!.toLowerCase();
    readings.set(`tegra.temperature.${key}`, celsius);
    if (key === 'gpu') readings.set('gpu.0.temperature', celsius);
  }

  for (const [, name, current] of line.matchAll(RAIL)) {
    const key = name!.toLowerCase();
    if (key === 'nc') continue; // "not connected" placeholder rails on AGX Orin
    const watts = Number(current) / 1000;
    readings.set(`tegra.power.${key}`, watts);
    if (GPU_RAILS.has(key)) readings.set('gpu.0.power', watts);
  }
  return readings;
}

export class TegrastatsSource implements SystemSource {
  readonly name = 'tegra';
  private readonly env: SourceEnv;
  private readonly closed = new AbortController();

  constructor(env: SourceEnv) {
    this.env = env;
  }

  async sample(_now: number): Promise<Readings> {
    // The first line comes one interval after start; leave room for it inside the limit.
    const intervalMs = Math.max(100, Math.min(1000, Math.floor(this.env.timeoutMs / 4)));
    const line = await readFirstLine('tegrastats', ['--interval', String(intervalMs)], {
      path: this.env.path,
      timeoutMs: this.env.timeoutMs,
      signal: this.closed.signal,
    });
    return parseTegrastatsLine(line);
  }

  close(): void {
    this.closed.abort();
  }
}
