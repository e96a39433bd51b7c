// The HTTP stage: a JSON API over the collector's store (fastify), read-only, built without a
// socket so it is tested with `inject`, and listened on http.listen by the runner.
export { buildApi, type ApiOptions, type ApiStore, type RouteContext } from './api.js';
export { listenHttp, HttpListenError, type HttpServer } from './server.js';
export { ApiError, parseInstant, parseLimit } from './query.js';
