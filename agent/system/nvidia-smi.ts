// Discrete NVIDIA GPUs through `nvidia-smi --query-gpu ... --format=csv,noheader,nounits`: one
// line per GPU, read directly rather than through a library, so every field is the driver's own
// text. Fields a GPU does not report ([N/A], [Not Supported]) are absent readings; "No devices
// were found" is zero GPUs, not an error.
import { CommandExitError, firstLineOf, runCommand } from './exec.js';
import { SourceError, type Readings, type SourceEnv, type SystemSource } from './source.js';

const MIB = 1024 * 1024;
/** The GPU-idle bit of the clocks event (throttle) reasons bitmask: idle clocks are not throttling. */
const REASON_GPU_IDLE = 0x1n;

/**
 * The active clock-limit bitmask is `clocks_throttle_reasons.active` up to driver R530 and
 * `clocks_event_reasons.active` from R535 on (the old name is kept as a deprecated alias for now).
 * The old name is tried first since every driver in the field accepts it today.
 */
export const THROTTLE_FIELDS = ['clocks_throttle_reasons.active', 'clocks_event_reasons.active'] as const;
export type ThrottleField = (typeof THROTTLE_FIELDS)[number];

export function queryFields(throttle: ThrottleField): string[] {
  return [
    'index',
    'uuid',
    'name',
    'utilization.gpu',
    'utilization.memory',
    'memory.used',
    'memory.total',
    'temperature.gpu',
    'power.draw',
    'power.limit',
    'clocks.sm',
    'clocks.mem',
    throttle,
    'pstate',
    'fan.speed',
  ];
}
const COLUMNS = queryFields(THROTTLE_FIELDS[0]).length;
const NAME_COLUMN = 2;

/** Numeric columns after `name`: CSV column offset -> metric suffix and the factor to its unit. */
const NUMERIC: ReadonlyArray<readonly [column: number, metric: string, factor: number]> = [
  [3, 'utilization', 1], // %
  [4, 'memory_utilization', 1], // %
  [5, 'memory.used', MIB], // MiB -> bytes
  [6, 'memory.total', MIB],
  [7, 'temperature', 1], // C
  [8, 'power', 1], // W
  [9, 'power_limit', 1], // W
  [10, 'clock.sm', 1], // MHz
  [11, 'clock.mem', 1], // MHz
  [14, 'fan', 1], // %
];

// Messages nvidia-smi prints (on stdout, with a non-zero status) when it cannot reach a GPU.
const NO_DEVICES = /No devices were found/i;
const DRIVER_ERROR =
  /NVIDIA-SMI has failed|couldn't communicate with the NVIDIA driver|Failed to initialize NVML|Driver\/library version mismatch|Unable to determine the device handle|GPU is lost|NVML Shared Library Not Found/i;
const NO_PERMISSION = /Insufficient Permissions|Permission denied/i;
const INVALID_FIELD = /is not a valid field to query/i;

/** A field the GPU does not report: nvidia-smi writes these instead of a number. */
function isAbsent(value: string): boolean {
  return value === '' || value === 'N/A' || (value.startsWith('[') && value.endsWith(']'));
}

function parseNumber(value: string, field: string, line: string): number | undefined {
  if (isAbsent(value)) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new SourceError('parse', `nvidia-smi: ${field} is "${value}" in "${line}"`);
  return n;
}

/**
 * Readings from the CSV nvidia-smi prints for queryFields(): one line per GPU. A line with the
 * wrong number of columns or a non-numeric value where a number belongs rejects 'parse'.
 */
export function parseNvidiaSmiCsv(stdout: string): Readings {
  const readings: Readings = new Map();
  const lines = stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (lines.length === 0) throw new SourceError('parse', 'nvidia-smi printed nothing');
  for (const line of lines) {
    let cells = line.split(',').map((c) => c.trim());
    // Only the product name is free text; a comma in it shows up as extra columns.
    if (cells.length > COLUMNS) {
      const extra = cells.length - COLUMNS;
      cells = [...cells.slice(0, NAME_COLUMN), cells.slice(NAME_COLUMN, NAME_COLUMN + extra + 1).join(','), ...cells.slice(NAME_COLUMN + extra + 1)];
    }
    if (cells.length !== COLUMNS) {
      throw new SourceError('parse', `nvidia-smi: expected ${COLUMNS} columns, got ${cells.length} in "${line.slice(0, 200)}"`);
    }
    const index = cells[0]!;
    if (!/^\d+$/.test(index)) throw new SourceError('parse', `nvidia-smi: GPU index is "${index}" in "${line.slice(0, 200)}"`);
    const prefix = `gpu.${index}.`;
    for (const [column, metric, factor] of NUMERIC) {
      const value = parseNumber(cells[column]!, metric, line);
      if (value !== undefined) readings.set(prefix + metric, value * factor);
    }
    const reasons = cells[12]!;
    if (!isAbsent(reasons)) {
      if (!/^0x[0-9a-f]+$/i.test(reasons)) throw new SourceError('parse', `nvidia-smi: clock reasons are "${reasons}" in "${line}"`);
      readings.set(prefix + 'throttled', (BigInt(reasons) & ~REASON_GPU_IDLE) !== 0n ? 1 : 0);
    }
    const pstate = cells[13]!;
    if (!isAbsent(pstate)) {
      const m = /^P(\d+)$/.exec(pstate);
      if (!m) throw new SourceError('parse', `nvidia-smi: pstate is "${pstate}" in "${line}"`);
      readings.set(prefix + 'pstate', Number(m[1]));
    }
  }
  readings.set('gpu.count', lines.length);
  return readings;
}

export class NvidiaSmiSource implements SystemSource {
  readonly name = 'gpu';
  private readonly env: SourceEnv;
  private readonly closed = new AbortController();
  /** The name of the throttle bitmask field the driver last accepted. */
  private throttle: ThrottleField = THROTTLE_FIELDS[0];

  constructor(env: SourceEnv) {
    this.env = env;
  }

  async sample(_now: number): Promise<Readings> {
    try {
      return await this.query(this.throttle);
    } catch (e) {
      if (!(e instanceof InvalidField) || !e.message.includes(this.throttle)) throw unwrap(e);
      // A driver that knows only the other name for the bitmask: retry once and keep what works.
      const other = THROTTLE_FIELDS.find((f) => f !== this.throttle)!;
      try {
        const readings = await this.query(other);
        this.throttle = other;
        return readings;
      } catch (e2) {
        throw unwrap(e2);
      }
    }
  }

  close(): void {
    this.closed.abort();
  }

  private async query(throttle: ThrottleField): Promise<Readings> {
    const args = [`--query-gpu=${queryFields(throttle).join(',')}`, '--format=csv,noheader,nounits'];
    let stdout: string;
    try {
      ({ stdout } = await runCommand('nvidia-smi', args, {
        path: this.env.path,
        timeoutMs: this.env.timeoutMs,
        signal: this.closed.signal,
      }));
    } catch (e) {
      if (!(e instanceof CommandExitError)) throw e;
      stdout = classifyExit(e);
    }
    if (NO_DEVICES.test(stdout)) return new Map([['gpu.count', 0]]);
    if (DRIVER_ERROR.test(stdout)) throw new SourceError('driver', `nvidia-smi: ${firstLineOf(stdout)}`);
    return parseNvidiaSmiCsv(stdout);
  }
}

/** Internal: the driver refused a field name (carried out of query() so sample() can retry). */
class InvalidField extends SourceError {}

function unwrap(e: unknown): SourceError {
  if (e instanceof InvalidField) return new SourceError('failed', e.message);
  if (e instanceof SourceError) return e;
  return new SourceError('failed', `nvidia-smi: ${String(e)}`);
}

/** nvidia-smi exited non-zero: its message (stdout first, as the real tool writes it) names the cause. */
function classifyExit(e: CommandExitError): string {
  const text = `${e.stdout}\n${e.stderr}`;
  const first = firstLineOf(e.stdout) || firstLineOf(e.stderr);
  if (NO_DEVICES.test(text)) return 'No devices were found';
  if (DRIVER_ERROR.test(text)) throw new SourceError('driver', `nvidia-smi: ${first}`);
  if (NO_PERMISSION.test(text)) throw new SourceError('permission', `nvidia-smi: ${first}`);
  if (INVALID_FIELD.test(text)) throw new InvalidField('failed', `nvidia-smi rejected a field: ${first}`);
  throw e;
}
