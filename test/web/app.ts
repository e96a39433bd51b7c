// The collector's API with the web page's routes, as api.ts will have them once they are
// registered there (docs/web.md, "Registration"): webPage at the root, webApiRoutes inside an /api
// scope behind the same bearer-token hook. Where api.ts already registers them, nothing is added.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { buildApi, type ApiOptions, type ApiStore } from '../../collector/http/index.js';
import { authHook, TokenSet } from '../../collector/http/auth.js';
import { webApiRoutes, webPage } from '../../collector/http/routes/web.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export async function buildWebApp(store: ApiStore, opts: ApiOptions & { webDir: string }): Promise<FastifyInstance> {
  const app = buildApi(store, opts);
  await app.after();
  if (!app.hasRoute({ method: 'GET', url: '/api/fleet/devices' })) {
    const now = opts.now ?? Date.now;
    const ctx = { store, now, startedAt: now() };
    const tokens = new TokenSet(opts.tokens);
    app.register(async (api) => {
      api.addHook('onRequest', authHook(tokens));
      await api.register(webApiRoutes, ctx);
    }, { prefix: '/api' });
  }
  if (!app.hasRoute({ method: 'GET', url: '/' })) app.register(webPage, { dir: opts.webDir });
  await app.ready();
  return app;
}

/** scripts/build-web.mjs's buildWeb, into `outDir`. */
export async function buildWeb(outDir: string): Promise<{ outDir: string; files: Record<string, number> }> {
  const mod = (await import(pathToFileURL(path.join(ROOT, 'scripts/build-web.mjs')).href)) as {
    buildWeb: (o: { outDir: string }) => Promise<{ outDir: string; files: Record<string, number> }>;
  };
  return mod.buildWeb({ outDir });
}
