// The page's one way to the collector: fetch with the token the user typed (kept in sessionStorage,
// so it goes with the tab), JSON both ways. A 401 forgets the token and asks again; other answers
// are returned with their status so a view can say what a 403 or a 404 means there.

const TOKEN_KEY = 'edgewatch.token';

export class AuthNeeded extends Error {
  constructor(readonly why: string) {
    super(why);
    this.name = 'AuthNeeded';
  }
}

/** An answer other than 2xx, with the API's {error, message} when it sent one. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiFailure';
  }
}

export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (t: string): void => sessionStorage.setItem(TOKEN_KEY, t),
  forget: (): void => sessionStorage.removeItem(TOKEN_KEY),
};

async function call<T>(method: 'GET' | 'POST', url: string, body?: unknown): Promise<T> {
  const t = token.get();
  if (t === null) throw new AuthNeeded('Enter an API token of this collector (http.tokens) to see the fleet.');
  const headers: Record<string, string> = { authorization: `Bearer ${t}`, accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }), credentials: 'omit', cache: 'no-store' });
  let json: unknown = null;
  try {
    json = await res.json();
  } catch {
    // not JSON (a proxy's error page): the status says enough
  }
  if (res.status === 401) {
    token.forget();
    throw new AuthNeeded(`The collector refused the token (${messageOf(json) ?? 'unauthorized'}). Enter another.`);
  }
  if (!res.ok) {
    const j = (json ?? {}) as { error?: unknown };
    throw new ApiFailure(res.status, typeof j.error === 'string' ? j.error : `http_${res.status}`, messageOf(json) ?? `${method} ${url} answered ${res.status}`);
  }
  return json as T;
}

function messageOf(json: unknown): string | null {
  const m = (json as { message?: unknown } | null)?.message;
  return typeof m === 'string' ? m : null;
}

export const api = {
  get: <T>(url: string) => call<T>('GET', url),
  post: <T>(url: string, body: unknown = {}) => call<T>('POST', url, body),
};

/** A query string of the defined values. */
export function qs(params: Record<string, string | number | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s === '' ? '' : `?${s}`;
}

export const enc = encodeURIComponent;
