// /api/devices: the fleet's devices, one device with its models and gaps, and a device's windows.
import type { FastifyPluginAsync } from 'fastify';
import type { RouteContext } from '../api.js';
import { DEFAULT_WINDOW_LIMIT, MAX_WINDOW_LIMIT } from '../../store/index.js';
import { badRequest, notFound, parseInstant, parseLimit, parseText } from '../query.js';

interface DeviceParams {
  id: string;
}

export const deviceRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  const { store } = ctx;

  app.get('/devices', async () => ({ devices: store.devices() }));

  app.get<{ Params: DeviceParams }>('/devices/:id', async (req) => {
    const device = store.device(req.params.id);
    if (device === null) throw notFound(`no device ${JSON.stringify(req.params.id)} has reported to this collector`);
    return device;
  });

  app.get<{ Params: DeviceParams; Querystring: Record<string, unknown> }>('/devices/:id/windows', async (req) => {
    const q = req.query;
    const model = parseText('model', q['model']);
    const from = parseInstant('from', q['from']);
    const to = parseInstant('to', q['to']);
    const limit = parseLimit('limit', q['limit'], DEFAULT_WINDOW_LIMIT, MAX_WINDOW_LIMIT);
    if (from !== undefined && to !== undefined && to < from) {
      throw badRequest(`to (${to}) is before from (${from})`);
    }
    const id = req.params.id;
    if (store.device(id) === null) throw notFound(`no device ${JSON.stringify(id)} has reported to this collector`);
    const windows = store.windows(id, {
      ...(model === undefined ? {} : { model }),
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
      limit,
    });
    return { device: id, windows };
  });
};
