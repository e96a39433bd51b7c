// Bearer tokens for /api. Every request under /api needs `Authorization: Bearer <token>` with a
// token of http.tokens; a route marked `config: { role: 'admin' }` needs an admin token. Tokens are
// compared in constant time: each configured token's SHA-256 against the presented one's, all of
// them every time, so neither the answer's timing nor its path tells how much of a token matched.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiRole, ApiToken } from '../config/types.js';

/** What a route needs: reading (the default) or changing things. */
export interface RouteAuth {
  role?: ApiRole;
}

/** The token a request was let in with, for handlers and logs. */
export interface Caller {
  name: string;
  role: ApiRole;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export class TokenSet {
  private readonly tokens: { digest: Buffer; caller: Caller }[];

  constructor(tokens: readonly ApiToken[]) {
    this.tokens = tokens.map((t) => ({ digest: digest(t.token), caller: { name: t.name, role: t.role } }));
  }

  get size(): number {
    return this.tokens.length;
  }

  /** The caller a presented token belongs to, or null. */
  find(presented: string): Caller | null {
    const d = digest(presented);
    let found: Caller | null = null;
    for (const t of this.tokens) if (timingSafeEqual(t.digest, d)) found = t.caller;
    return found;
  }
}

const callers = new WeakMap<FastifyRequest, Caller>();

export function callerOf(req: FastifyRequest): Caller | undefined {
  return callers.get(req);
}

/** The onRequest hook of the /api scope. */
export function authHook(tokens: TokenSet) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const deny = (code: 401 | 403, error: string, message: string) => {
      if (code === 401) reply.header('www-authenticate', 'Bearer realm="edgewatch"');
      return reply.code(code).send({ error, message });
    };
    if (tokens.size === 0) return deny(401, 'unauthorized', 'no API tokens are configured: add one to http.tokens in the collector config');
    const header = req.headers.authorization;
    const m = typeof header === 'string' ? /^Bearer ([^\s]+)$/i.exec(header.trim()) : null;
    if (m === null) return deny(401, 'unauthorized', 'send the header Authorization: Bearer <token>, with a token of http.tokens');
    const caller = tokens.find(m[1]!);
    if (caller === null) return deny(401, 'unauthorized', 'the token is not one of http.tokens');
    const need = (req.routeOptions.config as RouteAuth | undefined)?.role ?? 'read';
    if (need === 'admin' && caller.role !== 'admin') return deny(403, 'forbidden', `this route changes things and needs an admin token; ${caller.name}'s token is read-only`);
    callers.set(req, caller);
  };
}
