// The baseline file: one model version's reference profile as a versioned CBOR map, written by
// `edgewatch-agent baseline --export`, read by `baseline --import` on other agents and uploaded to
// the collector (PUT /api/models/:model/versions/:version/baseline) for fleet drift.
//   {v: 1, kind: "edgewatch-baseline", model, model_version ("*": every version), source,
//    created_at (epoch ms), records, profile (WindowProfile.encode() bytes)}
import { decode, encode } from 'cbor-x';
import { WindowProfile } from '../profile/index.js';

export const BASELINE_FILE_VERSION = 1;
export const BASELINE_FILE_KIND = 'edgewatch-baseline';

export interface BaselineFile {
  model: string;
  /** '*' for a baseline of every version. */
  model_version: string;
  source: string;
  created_at: number;
  records: number;
  profile: Uint8Array;
}

/** What is wrong with a baseline file, worded to follow its name ("<file> is not a baseline file"). */
export class BaselineFileError extends Error {
  constructor(readonly why: string) {
    super(why);
    this.name = 'BaselineFileError';
  }
}

export function encodeBaselineFile(b: BaselineFile): Uint8Array {
  return encode({ v: BASELINE_FILE_VERSION, kind: BASELINE_FILE_KIND, ...b });
}

/** Decodes and checks a baseline file, its profile decoded in full; throws BaselineFileError. */
export function decodeBaselineFile(bytes: Uint8Array): { file: BaselineFile; profile: WindowProfile } {
  const bad = (why: string) => new BaselineFileError(why);
  let raw: unknown;
  try {
    raw = decode(bytes);
  } catch (err) {
    throw bad(`is not a baseline file: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null) throw bad('is not a baseline file');
  const o = raw as Record<string, unknown>;
  if (o['kind'] !== BASELINE_FILE_KIND) throw bad(`is not a baseline file (kind ${JSON.stringify(o['kind'])})`);
  if (o['v'] !== BASELINE_FILE_VERSION) throw bad(`has format version ${JSON.stringify(o['v'])}; this build reads version ${BASELINE_FILE_VERSION}`);
  const str = (k: string): string => {
    if (typeof o[k] !== 'string') throw bad(`has no valid "${k}"`);
    return o[k] as string;
  };
  const num = (k: string): number => {
    if (typeof o[k] !== 'number' || !Number.isSafeInteger(o[k])) throw bad(`has no valid "${k}"`);
    return o[k] as number;
  };
  if (!(o['profile'] instanceof Uint8Array)) throw bad('has no profile');
  let profile: WindowProfile;
  try {
    profile = WindowProfile.decode(o['profile']);
  } catch (err) {
    throw bad(`has a damaged profile: ${(err as Error).message}`);
  }
  if (profile.count !== num('records')) throw bad(`says ${num('records')} records but its profile holds ${profile.count}`);
  const file: BaselineFile = {
    model: str('model'),
    model_version: str('model_version'),
    source: str('source'),
    created_at: num('created_at'),
    records: num('records'),
    profile: o['profile'],
  };
  if (profile.model !== file.model) throw bad(`names model ${JSON.stringify(file.model)} but its profile is of ${JSON.stringify(profile.model)}`);
  return { file, profile };
}
