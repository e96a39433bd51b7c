// /api/alerts and /api/silences: the fleet alerts (collector/alerts), their acknowledgement, and
// silences with an expiry. Reading needs a token; acknowledging and silencing an admin one.
import type { FastifyPluginAsync } from 'fastify';
import type { FleetAlert } from '../../alerts/engine.js';
import type { RouteContext } from '../api.js';
import { callerOf, type RouteAuth } from '../auth.js';
import { badRequest, notFound, parseInstant, parseText } from '../query.js';

const ADMIN: RouteAuth = { role: 'admin' };
const STATES = ['active', 'resolved', 'all'] as const;
const LABEL = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** A silence longer than this is a mistake more often than not. */
const MAX_SILENCE_MS = 90 * 86_400_000;

/** The alert as the API shows it. */
function shown(a: FleetAlert) {
  return { ...a, model: a.labels['model'] ?? null, model_version: a.labels['version'] ?? null, started_at: a.active_since, silenced: a.silenced_by !== null };
}

export const alertRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  const { store } = ctx;

  app.get<{ Querystring: Record<string, unknown> }>('/alerts', async (req) => {
    const state = parseText('state', req.query['state']) ?? 'active';
    if (!(STATES as readonly string[]).includes(state)) throw badRequest(`state: got ${JSON.stringify(state)}, expected active, resolved or all`);
    const all = store.fleetAlerts(ctx.now());
    const alerts = all.filter((a) => state === 'all' || (state === 'active' ? a.state !== 'resolved' : a.state === 'resolved'));
    return { alerts: alerts.map(shown) };
  });

  app.post<{ Params: { id: string } }>('/alerts/:id/ack', { config: ADMIN }, async (req) => {
    const by = callerOf(req)?.name ?? 'unknown';
    if (!store.acknowledgeAlert(req.params.id, by, ctx.now())) throw notFound(`no active alert ${JSON.stringify(req.params.id)}`);
    const alert = store.fleetAlerts(ctx.now()).find((a) => a.id === req.params.id);
    return { alert: alert === undefined ? null : shown(alert) };
  });

  app.get('/silences', async () => ({ silences: store.silences() }));

  app.post<{ Body: unknown }>('/silences', { config: ADMIN }, async (req, reply) => {
    const body = req.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('send a JSON object {matchers, ends_at, comment}');
    const b = body as Record<string, unknown>;
    const m = b['matchers'];
    if (m === null || typeof m !== 'object' || Array.isArray(m) || Object.keys(m).length === 0) {
      throw badRequest('matchers: expected an object of label: value, at least one (e.g. {"alertname": "drift", "model": "fraud"})');
    }
    const matchers: Record<string, string> = {};
    for (const [k, v] of Object.entries(m as Record<string, unknown>)) {
      if (!LABEL.test(k) || typeof v !== 'string' || v === '') throw badRequest(`matchers.${k}: expected a label name and a non-empty string value`);
      matchers[k] = v;
    }
    const now = ctx.now();
    const endsAt = parseInstant('ends_at', typeof b['ends_at'] === 'number' ? String(b['ends_at']) : b['ends_at']);
    if (endsAt === undefined) throw badRequest('ends_at: required, as epoch ms or an RFC 3339 time');
    if (endsAt <= now) throw badRequest(`ends_at: ${new Date(endsAt).toISOString()} has passed`);
    if (endsAt - now > MAX_SILENCE_MS) throw badRequest('ends_at: at most 90 days ahead');
    const comment = b['comment'];
    if (typeof comment !== 'string' || comment.trim() === '') throw badRequest('comment: say why (a non-empty string)');
    const silence = store.addSilence({ matchers, starts_at: now, ends_at: endsAt, comment: comment.slice(0, 1000), created_by: callerOf(req)?.name ?? 'unknown' }, now);
    return reply.code(201).send(silence);
  });

  app.delete<{ Params: { id: string } }>('/silences/:id', { config: ADMIN }, async (req) => {
    if (!store.expireSilence(req.params.id, ctx.now())) throw notFound(`no running silence ${JSON.stringify(req.params.id)}`);
    return { expired: req.params.id };
  });
};
