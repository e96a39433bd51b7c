// The collector's worker threads (ingest checker and writer, fleet rollups) start from one place:
// in the bundle, the bundle's own file, which dispatches on workerData.ewRole (cli/bin.ts); from
// source, a stage's worker-main.ts through tsx, registered inside the thread (Node 20 does not
// apply `--import` from a worker's execArgv).
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type MessagePort } from 'node:worker_threads';
import { seaText } from '../agent/sea.js';

/** Set by scripts/build-collector.mjs: the bundle starts its workers from its own file. */
declare const __EW_COLLECTOR_BUNDLE__: boolean | undefined;

/** The asset holding the collector's bundle in the single executable (scripts/build-binary.mjs). */
export const COLLECTOR_BUNDLE_ASSET = 'collector.cjs';
export const INGEST_WORKER_ROLE = 'ingest-worker';
export const FLEET_WORKER_ROLE = 'fleet-worker';

/** Starts a worker of `role`; `sourceEntry` is its worker-main.ts, used when running from source. */
export function startWorker(role: string, sourceEntry: URL, data: object, transferList: MessagePort[] = []): Worker {
  const workerData = { ewRole: role, ...data };
  if (typeof __EW_COLLECTOR_BUNDLE__ === 'boolean') {
    // The single executable has no bundle file: the same bundle is packed in as an asset.
    const packed = seaText(COLLECTOR_BUNDLE_ASSET);
    if (packed !== null) return new Worker(packed, { eval: true, workerData, transferList });
    return new Worker(fileURLToPath(import.meta.url), { workerData, transferList });
  }
  const tsxApi = pathToFileURL(path.join(path.dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist/esm/api/index.mjs')).href;
  const code = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(sourceEntry.href)}); });`;
  return new Worker(code, { eval: true, workerData, transferList });
}

/**
 * Asks a worker to close ({t: 'close'}), waits for its {t: 'closed'} (or its exit), then ends it:
 * the worker answers what it was sent before, since messages are handled in order.
 */
export async function closeWorker(worker: Worker): Promise<void> {
  const closed = new Promise<void>((resolve) => {
    worker.on('message', (m: { t?: unknown }) => m.t === 'closed' && resolve());
    worker.once('exit', () => resolve());
  });
  worker.postMessage({ t: 'close' });
  await closed;
  await worker.terminate();
}
