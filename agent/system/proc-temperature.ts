// Temperatures the kernel exposes: thermal zones (<sys>/class/thermal/thermal_zone*/{type,temp})
// as `temperature.<type>` and hwmon chips (<sys>/class/hwmon/hwmon*/{name,temp*_input,temp*_label})
// as `temperature.<chip>.<label>`, in degrees Celsius. No sensors is a normal, empty round.
// A single sensor that will not answer this round (EINVAL, ENODATA, EIO: common on boards whose
// sensors sleep) is left out; the round fails only when sensors exist and none could be read.

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileError, guardRound, metricPart, readSysFile } from './proc-read.js';
import { SourceError, type Readings, type SourceEnv, type SystemSource } from './source.js';

/** Entries of a directory matching `prefix<number>`, in numeric order; none when it is absent. */
async function numbered(dir: string, prefix: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    const error = fileError(dir, err);
    if (error.kind === 'missing') return [];
    throw error;
  }
  const pattern = new RegExp(`^${prefix}(\\d+)$`);
  return names
    .map((n) => [n, pattern.exec(n)?.[1]] as const)
    .filter((e): e is readonly [string, string] => e[1] !== undefined)
    .sort((a, b) => Number(a[1]) - Number(b[1]))
    .map((e) => e[0]);
}

function milliCelsius(text: string, path: string): number {
  const t = text.trim();
  if (!/^-?\d+$/.test(t)) throw new SourceError('parse', `${path}: expected millidegrees, got ${JSON.stringify(t.slice(0, 40))}`);
  return Number(t) / 1000;
}

/** `name`, then `name_2`, `name_3`, ... for later sensors that share it. */
function unique(name: string, taken: Set<string>): string {
  let candidate = name;
  for (let n = 2; taken.has(candidate); n++) candidate = `${name}_${n}`;
  taken.add(candidate);
  return candidate;
}

/** The thermal core registers each zone type as a hwmon chip too, with '-' made '_'. */
const bridgeKey = (name: string): string => metricPart(name).replace(/-/g, '_');

type Attempt<T> = { ok: true; value: T } | { ok: false; error: SourceError };

/** A sensor file's value, or why it could not be read; garbage is not tolerated (it throws). */
async function tryRead<T>(path: string, parse: (text: string, path: string) => T): Promise<Attempt<T>> {
  try {
    return { ok: true, value: parse(await readSysFile(path), path) };
  } catch (err) {
    if (err instanceof SourceError && err.kind !== 'parse') return { ok: false, error: err };
    throw err;
  }
}

const text = (t: string): string => t.trim();

export class TemperatureSource implements SystemSource {
  readonly name = 'temperature';
  private readonly thermalDir: string;
  private readonly hwmonDir: string;

  constructor(env: Pick<SourceEnv, 'sysRoot'>) {
    this.thermalDir = join(env.sysRoot, 'class', 'thermal');
    this.hwmonDir = join(env.sysRoot, 'class', 'hwmon');
  }

  sample(_now: number): Promise<Readings> {
    return guardRound(this.name, () => this.round());
  }

  private async round(): Promise<Readings> {
    const [zoneDirs, chipDirs] = await Promise.all([
      numbered(this.thermalDir, 'thermal_zone'),
      numbered(this.hwmonDir, 'hwmon'),
    ]);
    const failures: SourceError[] = [];
    const readings: Readings = new Map();
    const taken = new Set<string>();

    const zones = await Promise.all(
      zoneDirs.map(async (z) => {
        const dir = join(this.thermalDir, z);
        return Promise.all([tryRead(join(dir, 'type'), text), tryRead(join(dir, 'temp'), milliCelsius)] as const);
      }),
    );
    const zoneTypes = new Set<string>();
    for (const [type, temp] of zones) {
      if (!type.ok) {
        failures.push(type.error);
        continue;
      }
      zoneTypes.add(bridgeKey(type.value));
      if (!temp.ok) {
        failures.push(temp.error);
        continue;
      }
      readings.set(`temperature.${unique(metricPart(type.value), taken)}`, temp.value);
    }

    const chips = await Promise.all(chipDirs.map((c) => this.readChip(join(this.hwmonDir, c))));
    for (const chip of chips) {
      if (!chip.ok) {
        failures.push(chip.error);
        continue;
      }
      if (zoneTypes.has(bridgeKey(chip.name))) continue; // the same sensors as a thermal zone
      const chipPart = unique(metricPart(chip.name), taken);
      const labels = new Set<string>();
      for (const sensor of chip.sensors) {
        if (!sensor.value.ok) {
          failures.push(sensor.value.error);
          continue;
        }
        readings.set(`temperature.${chipPart}.${unique(metricPart(sensor.label), labels)}`, sensor.value.value);
      }
    }

    if (readings.size === 0 && failures.length > 0) {
      const denied = failures.find((f) => f.kind === 'permission');
      throw denied ?? (failures[0] as SourceError);
    }
    return readings;
  }

  private async readChip(
    dir: string,
  ): Promise<{ ok: true; name: string; sensors: { label: string; value: Attempt<number> }[] } | { ok: false; error: SourceError }> {
    // Kernels before 3.x keep a chip's attributes under device/.
    let name = await tryRead(join(dir, 'name'), text);
    if (!name.ok && name.error.kind === 'missing') {
      const legacy = await tryRead(join(dir, 'device', 'name'), text);
      if (legacy.ok) {
        dir = join(dir, 'device');
        name = legacy;
      }
    }
    if (!name.ok) return name;
    let files: string[];
    try {
      files = await readdir(dir);
    } catch (err) {
      return { ok: false, error: fileError(dir, err) };
    }
    const inputs = files
      .map((f) => /^temp(\d+)_input$/.exec(f)?.[1])
      .filter((n): n is string => n !== undefined)
      .sort((a, b) => Number(a) - Number(b));
    const sensors = await Promise.all(
      inputs.map(async (n) => {
        const label = files.includes(`temp${n}_label`) ? await tryRead(join(dir, `temp${n}_label`), text) : undefined;
        const value = await tryRead(join(dir, `temp${n}_input`), milliCelsius);
        return { label: label?.ok === true && label.value !== '' ? label.value : `temp${n}`, value };
      }),
    );
    return { ok: true, name: name.value, sensors };
  }
}
