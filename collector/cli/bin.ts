// Entry point of dist/edgewatch-collector.js. The bundle is also its worker threads' code: started
// as one (collector/threads.ts), it runs that worker instead of the command line.
import { isMainThread, workerData } from 'node:worker_threads';
import { runFleetWorker } from '../fleet/worker.js';
import { runIngestWorker } from '../ingest/worker.js';
import { FLEET_WORKER_ROLE, INGEST_WORKER_ROLE } from '../threads.js';
import { main } from './main.js';

const role = isMainThread ? null : (workerData as { ewRole?: unknown } | null)?.ewRole;
if (role === INGEST_WORKER_ROLE) {
  runIngestWorker();
} else if (role === FLEET_WORKER_ROLE) {
  runFleetWorker();
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
