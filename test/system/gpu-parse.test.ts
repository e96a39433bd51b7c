// Parser edge cases that the recorded fixtures do not cover: odd product names and field markers
// for nvidia-smi, and the older and newer tegrastats line formats.
import { describe, expect, it } from 'vitest';
import { parseNvidiaSmiCsv, queryFields, THROTTLE_FIELDS } from '../../agent/system/nvidia-smi.js';
import { SourceError } from '../../agent/system/source.js';
import { parseTegrastatsLine } from '../../agent/system/tegrastats.js';

function parseError(f: () => unknown): SourceError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SourceError);
    return e as SourceError;
  }
  throw new Error('expected a SourceError');
}

describe('parseNvidiaSmiCsv', () => {
  it('queries 15 fields, the throttle bitmask under either name', () => {
    for (const field of THROTTLE_FIELDS) expect(queryFields(field)).toHaveLength(15);
    expect(queryFields('clocks_event_reasons.active')[12]).toBe('clocks_event_reasons.active');
  });

  it('keeps a product name that contains commas', () => {
    const r = parseNvidiaSmiCsv('1, GPU-x, Quadro RTX 8000, Rev. 2, 5, 1, 1, 2, 30, 20.5, 260, 300, 7000, 0x1, P2, 33\n');
    expect(r.get('gpu.1.utilization')).toBe(5);
    expect(r.get('gpu.1.fan')).toBe(33);
    expect(r.get('gpu.1.throttled')).toBe(0);
    expect(r.get('gpu.1.pstate')).toBe(2);
  });

  it('treats any bracketed marker and N/A as absent, not NaN', () => {
    const r = parseNvidiaSmiCsv('0, GPU-x, T4, [Unknown Error], N/A, [GPU requires reset], 15360, 40, , 70, 300, 5000, [N/A], [N/A], 0\n');
    expect([...r.keys()].sort()).toEqual(['gpu.0.clock.mem', 'gpu.0.clock.sm', 'gpu.0.fan', 'gpu.0.memory.total', 'gpu.0.power_limit', 'gpu.0.temperature', 'gpu.count']);
  });

  it("counts every throttle bit but idle: HW slowdown alone or with idle is 'throttled'", () => {
    const line = (mask: string) => `0, GPU-x, T4, 1, 1, 1, 1, 1, 1, 1, 1, 1, ${mask}, P0, 1`;
    expect(parseNvidiaSmiCsv(line('0x0000000000000001')).get('gpu.0.throttled')).toBe(0);
    expect(parseNvidiaSmiCsv(line('0x0000000000000008')).get('gpu.0.throttled')).toBe(1);
    expect(parseNvidiaSmiCsv(line('0x0000000000000009')).get('gpu.0.throttled')).toBe(1);
    expect(parseNvidiaSmiCsv(line('0x0000000000000100')).get('gpu.0.throttled')).toBe(1);
  });

  it("rejects 'parse' for no output, a short line, a bad index or a bad bitmask", () => {
    expect(parseError(() => parseNvidiaSmiCsv('\n')).kind).toBe('parse');
    expect(parseError(() => parseNvidiaSmiCsv('0, GPU-x, T4, 1, 2')).kind).toBe('parse');
    expect(parseError(() => parseNvidiaSmiCsv('x, GPU-x, T4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0x0, P0, 1')).kind).toBe('parse');
    expect(parseError(() => parseNvidiaSmiCsv('0, GPU-x, T4, 1, 1, 1, 1, 1, 1, 1, 1, 1, Active, P0, 1')).kind).toBe('parse');
  });
});

describe('parseTegrastatsLine', () => {
  it('reads the L4T 28 (TX1) format: lower-case cpu with one shared clock, EMC and GR3D without _FREQ', () => {
    const r = parseTegrastatsLine(
      'RAM 3468/3983MB (lfb 48x4MB) SWAP 873/8192MB (cached 295MB) cpu [17%,13%,29%,5%]@408 EMC 1%@408 APE 25 GR3D 3%@76',
    );
    expect(r.get('tegra.cpu.2.utilization')).toBe(29);
    expect(r.get('tegra.cpu.2.clock')).toBe(408);
    expect(r.get('tegra.emc.utilization')).toBe(1);
    expect(r.get('gpu.0.utilization')).toBe(3);
    expect(r.get('gpu.0.clock.sm')).toBe(76);
    expect(r.get('tegra.swap.used')).toBe(873 * 1024 * 1024);
    expect([...r.keys()].some((k) => k.startsWith('tegra.power.'))).toBe(false);
  });

  it('reads the JetPack 7 format: GR3D_FREQ n%@[MHz,MHz] and temperatures written as now/max', () => {
    const r = parseTegrastatsLine(
      '07-25-2026 09:08:28 RAM 20642/62817MB (lfb 1x2MB) CPU [23%@2201,10%@2201] EMC_FREQ 3%@3199 GR3D_FREQ 12%@[1300,1290] NVENC0 off APE 174 cpu@52.968C/53.5C gpu@49.1C/50C VDD_GPU_SOC 5120mW/5000mW',
    );
    expect(r.get('gpu.0.utilization')).toBe(12);
    expect(r.get('gpu.0.clock.sm')).toBe(1300);
    expect(r.get('tegra.temperature.cpu')).toBe(52.968);
    expect(r.get('gpu.0.temperature')).toBe(49.1);
    expect(r.get('tegra.power.vdd_gpu_soc')).toBe(5.12);
    // A rail shared with the SoC is not the GPU's own power.
    expect(r.has('gpu.0.power')).toBe(false);
    expect(r.has('tegra.swap.used')).toBe(false);
  });

  it("rejects 'parse' for a line without RAM", () => {
    expect(parseError(() => parseTegrastatsLine('tegrastats: permission denied')).kind).toBe('parse');
  });
});
