// Entry point of dist/edgewatch-collector.js. The bundle is also the ingest worker's code: started
// as that worker (collector/ingest/worker.ts), it runs the worker instead of the command line.
import { isMainThread, workerData } from 'node:worker_threads';
import { INGEST_WORKER_ROLE, runIngestWorker } from '../ingest/worker.js';
import { main } from './main.js';

if (!isMainThread && (workerData as { ewRole?: unknown } | null)?.ewRole === INGEST_WORKER_ROLE) {
  runIngestWorker();
} else {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`edgewatch-collector: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
