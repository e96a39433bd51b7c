// The collector's HTTP API as a fastify instance, built without listening so tests drive it with
// `inject`. Routes come in plugins, one per resource, registered in two scopes:
//
//   /            open:  healthz and the fleet page (routes/web.ts)
//   /api         the JSON API: devices, models and their fleet profiles; alerts later
//
// Authentication (bearer tokens, auth.ts) is one onRequest hook of the /api scope, so it covers
// every API route, old and new, while /healthz stays open for load balancers; a route that changes
// things says `config: { role: 'admin' }`. No CORS headers are sent: a browser page of another
// origin cannot read the API. Adding a resource is one plugin in API_ROUTES.

import Fastify, { type FastifyError, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { CollectorCounters, CollectorStore } from '../store/index.js';
import { renderCollectorMetrics } from './metrics.js';
import type { Logger } from '../log.js';
import type { ApiToken } from '../config/types.js';
import { authHook, TokenSet } from './auth.js';
import { ApiError } from './query.js';
import { alertRoutes } from './routes/alerts.js';
import { deviceRoutes } from './routes/devices.js';
import { fleetRoutes } from './routes/fleet.js';
import { webApiRoutes, webPage } from './routes/web.js';
import { healthRoutes } from './routes/health.js';

/** What the API uses of the store: its queries, and the writes admin routes make (baselines). */
export type ApiStore = Pick<
  CollectorStore,
  'devices' | 'device' | 'windows' | 'fleetModels' | 'fleetBucketCount' | 'fleetProfile' | 'putBaseline' | 'baselineFor' | 'agentBaselines' | 'metrics'
  | 'fleetBuckets' | 'topDriftingDevices' | 'summaryBodies'
  | 'fleetAlerts' | 'acknowledgeAlert' | 'silences' | 'addSilence' | 'expireSilence' | 'versionDeviceCounts'
>;

export interface ApiOptions {
  log: Logger;
  /** http.tokens: every /api request needs one of them (none: every /api request is refused). */
  tokens: readonly ApiToken[];
  /** The ingest side's counters for /metrics; zeros when absent. */
  counters?: () => CollectorCounters;
  /** Where the built page is (default dist/web, defaultWebDir()); tests build their own. */
  webDir?: string;
  /** Clock for uptime; Date.now unless a test injects one. */
  now?: () => number;
}

/** What every route plugin is given. */
export interface RouteContext {
  store: ApiStore;
  now: () => number;
  startedAt: number;
}

/** The resources under /api, each a plugin; the next ones (alerts, models, fleet) join this list. */
const API_ROUTES: ReadonlyArray<FastifyPluginAsync<RouteContext>> = [deviceRoutes, fleetRoutes, alertRoutes, webApiRoutes];

export function buildApi(store: ApiStore, opts: ApiOptions): FastifyInstance {
  const now = opts.now ?? Date.now;
  const ctx: RouteContext = { store, now, startedAt: now() };
  const { log } = opts;

  // fastify's own logger stays off: the collector logs JSON lines through its logger, and a
  // line per request would drown the fleet's events.
  const app = Fastify({ logger: false, return503OnClosing: true, forceCloseConnections: true });

  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    if (err instanceof ApiError) {
      return reply.code(err.statusCode).send({ error: err.error, message: err.message });
    }
    const status = err.statusCode ?? 500;
    if (status < 500) {
      // fastify's own 4xx (a body that is not JSON, a method not allowed, ...)
      return reply.code(status).send({ error: err.code ?? 'bad_request', message: err.message });
    }
    log.once(`http:${req.routeOptions.url ?? req.url}`, 'error', 'http: a request failed', {
      method: req.method,
      url: req.url,
      error: err.message,
    });
    return reply.code(500).send({ error: 'internal', message: 'the request failed; see the collector log' });
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?', 1)[0]}` });
  });

  app.register(healthRoutes, ctx);
  app.register(webPage, opts.webDir === undefined ? {} : { dir: opts.webDir });
  const tokens = new TokenSet(opts.tokens);
  app.register(
    async (api) => {
      api.addHook('onRequest', authHook(tokens));
      for (const routes of API_ROUTES) await api.register(routes, ctx);
    },
    { prefix: '/api' },
  );
  // /metrics for Prometheus, with a token like /api (a scrape config's `authorization`).
  const counters = opts.counters ?? (() => ({ messages: {}, refused: {}, broker: {} }));
  app.register(async (scope) => {
    scope.addHook('onRequest', authHook(tokens));
    scope.get('/metrics', async (_req, reply) =>
      reply
        .type('text/plain; version=0.0.4; charset=utf-8')
        .send(renderCollectorMetrics(store.metrics(counters(), Math.floor((now() - ctx.startedAt) / 1000)))),
    );
  });
  return app;
}
