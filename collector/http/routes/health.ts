// GET /healthz: open (no auth, now or later), cheap, for load balancers and `curl` after a deploy.
import type { FastifyPluginAsync } from 'fastify';
import type { RouteContext } from '../api.js';

export const healthRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  app.get('/healthz', async () => ({
    ok: true,
    devices: ctx.store.devices().length,
    uptime_s: Math.floor((ctx.now() - ctx.startedAt) / 1000),
  }));
};
