// Listening for the API on http.listen. A port that is taken fails at start with a message naming
// the setting, like the broker's; a running server closes its keep-alive connections on close, so
// a browser tab left open cannot hold the collector's shutdown.

import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { ListenAddress } from '../config/types.js';

export class HttpListenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HttpListenError';
  }
}

export interface HttpServer {
  /** http://host:port, with the port the kernel chose when http.listen asked for port 0. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Listens `app` on `listen`. `configFile` (null: the embedded defaults) is named in the message
 * when the address cannot be had.
 */
export async function listenHttp(app: FastifyInstance, listen: ListenAddress, configFile: string | null): Promise<HttpServer> {
  try {
    await app.listen({ host: listen.host, port: listen.port, listenTextResolver: () => '' });
  } catch (err) {
    await app.close();
    throw listenError(listen, configFile, err as NodeJS.ErrnoException);
  }
  const bound = app.server.address() as AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  let closed: Promise<void> | null = null;
  return {
    url: `http://${host}:${bound.port}`,
    port: bound.port,
    close: () => (closed ??= app.close()),
  };
}

function listenError(listen: ListenAddress, configFile: string | null, err: NodeJS.ErrnoException): HttpListenError {
  const at = configFile === null ? 'http.listen; no --config given, so the default' : `http.listen in ${configFile.split(/[\\/]/).pop() ?? configFile}`;
  const { host, port } = listen;
  switch (err.code) {
    case 'EADDRINUSE':
      return new HttpListenError(`port ${port} is in use (${at}): set http.listen to a free port, e.g. 127.0.0.1:8081`);
    case 'EACCES':
      return new HttpListenError(`cannot listen on port ${port} (${at}): permission denied; ports below 1024 need privileges, pick another`);
    case 'EADDRNOTAVAIL':
      return new HttpListenError(`cannot listen on ${host}:${port} (${at}): ${host} is not an address of this machine`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new HttpListenError(`cannot listen on ${host}:${port} (${at}): the host name does not resolve`);
    default:
      return new HttpListenError(`cannot listen on ${host}:${port} (${at}): ${err.message}`);
  }
}
