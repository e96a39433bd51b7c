// What a summary's embedded profile must be before it is stored. A full WindowProfile.decode costs
// ~180 µs for a 20-feature profile (every t-digest rebuilt and checked), most of the 200 µs a
// message may take at 5,000 summaries/s on two cores, so ingest by default checks the structure:
// exactly one well-formed CBOR map (walked, not decoded: cbor-walk.ts) of the profile format
// version, of the summary's model, version and window, with the sections a profile has. Profiles are decoded in full where they are used (fleet merges), which
// must treat a ProfileDecodeError as a bad summary, not a fault.
import { PROFILE_FORMAT_VERSION, WindowProfile } from '../../agent/profile/index.js';
import type { BaselineBody, WindowBody } from '../../agent/wire/index.js';
import { topLevelMap, type Peeked } from './cbor-walk.js';

export type ProfileCheckMode = 'structural' | 'full';

const TASKS = new Set(['classification', 'regression']);
/** Sections every profile has (agent/profile/codec.ts), with what they are. */
const ARRAYS = ['rj', 'fn', 'fc', 'fm', 'sg'] as const;
const MAPS = ['lat', 'cf', 'st', 'er', 'sy', 'p', 'y', 'q'] as const;

/** Null when the profile may be stored, else what is wrong with it. */
export function checkProfile(body: WindowBody, mode: ProfileCheckMode): string | null {
  return mode === 'full' ? fullCheck(body) : structuralCheck(body);
}

function fullCheck(body: WindowBody): string | null {
  let p: WindowProfile;
  try {
    p = WindowProfile.decode(body.profile);
  } catch (err) {
    return (err as Error).message.replace(/\n\s*/g, ' ');
  }
  return metaProblem(body, { m: p.model, mv: p.modelVersion, s: p.start, e: p.end });
}

function structuralCheck(body: WindowBody): string | null {
  let top: Map<string, Peeked>;
  try {
    top = topLevelMap(body.profile);
  } catch (err) {
    return `window profile: not one well-formed CBOR map (${(err as Error).message})`;
  }
  const scalar = (key: string): unknown => {
    const v = top.get(key);
    return v !== undefined && (v.kind === 'text' || v.kind === 'int') ? v.value : undefined;
  };
  const v = scalar('v');
  if (v !== PROFILE_FORMAT_VERSION) return `window profile: format version ${show(v)}; this build reads ${PROFILE_FORMAT_VERSION}`;
  if (!TASKS.has(scalar('t') as string)) return 'window profile: task t is neither classification nor regression';
  const n = scalar('n');
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) return 'window profile: record count n is not a count';
  for (const key of ARRAYS) if (top.get(key)?.kind !== 'array') return `window profile: ${key} is not an array`;
  for (const key of MAPS) if (top.get(key)?.kind !== 'map') return `window profile: ${key} is not a map`;
  return metaProblem(body, { m: scalar('m'), mv: scalar('mv'), s: scalar('s'), e: scalar('e') });
}

/** The profile must be of the window the summary names. */
function metaProblem(body: WindowBody, p: { m?: unknown; mv?: unknown; s?: unknown; e?: unknown } & object): string | null {
  if (p.m !== body.model || p.mv !== body.model_version) {
    return `window profile is of model ${show(p.m)} version ${show(p.mv)}; the summary names ${show(body.model)} version ${show(body.model_version)}`;
  }
  if (p.s !== body.start || p.e !== body.end) {
    return `window profile covers [${show(p.s)}, ${show(p.e)}); the summary names [${body.start}, ${body.end})`;
  }
  return null;
}

/** A decoded value in a message; JSON.stringify would throw on the BigInts CBOR can carry. */
function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v);
  // A decoded map may carry its own `toString` key, which String() would try to call.
  if (v !== null && typeof v === 'object') return Array.isArray(v) ? 'an array' : 'a map';
  return String(v);
}

/**
 * A baseline's profile, decoded in full (baselines are rare: one per device and version, sent when
 * it changes), and of the model the body names.
 */
export function checkBaselineProfile(body: BaselineBody): string | null {
  let p: WindowProfile;
  try {
    p = WindowProfile.decode(body.profile);
  } catch (err) {
    return (err as Error).message.replace(/\n\s*/g, ' ');
  }
  return p.model === body.model ? null : `the profile is of model ${JSON.stringify(p.model)}, the body says ${JSON.stringify(body.model)}`;
}
