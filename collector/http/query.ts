// Query-string values of the API, checked by hand rather than by a JSON schema: a bad value is
// answered 400 with a message that names the parameter, the value and what it should look like,
// which is what someone typing a URL into curl needs.

/** A 4xx answer with a JSON body {error, message}; the route's error handler sends it. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly error: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const badRequest = (message: string): ApiError => new ApiError(400, 'bad_request', message);
export const notFound = (message: string): ApiError => new ApiError(404, 'not_found', message);

// RFC 3339: a date, a time, seconds with an optional fraction, and Z or an offset.
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * An instant given as epoch ms (digits) or RFC 3339 (`2026-03-01T00:00:00Z`); undefined when the
 * parameter is absent.
 */
export function parseInstant(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw badRequest(`${name}: give it once, as epoch ms or RFC 3339 time`);
  if (/^\d{1,16}$/.test(value)) {
    const ms = Number(value);
    if (Number.isSafeInteger(ms)) return ms;
  }
  if (RFC3339.test(value)) {
    const ms = Date.parse(value);
    if (Number.isFinite(ms)) return ms;
  }
  throw badRequest(`${name}: got ${JSON.stringify(value)}, expected epoch ms (e.g. 1772323200000) or an RFC 3339 time (e.g. 2026-03-01T00:00:00Z)`);
}

/** A positive whole number up to `max`; `fallback` when absent. */
export function parseLimit(name: string, value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^\d{1,9}$/.test(value) || Number(value) < 1 || Number(value) > max) {
    throw badRequest(`${name}: got ${JSON.stringify(value)}, expected a whole number from 1 to ${max}`);
  }
  return Number(value);
}

/** A non-empty string given once; undefined when absent. */
export function parseText(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw badRequest(`${name}: expected one non-empty value`);
  return value;
}
