// The fleet worker thread's entry when the collector runs from source (through tsx); the bundle
// starts the worker from its own file instead (cli/bin.ts).
import { runFleetWorker } from './worker.js';

runFleetWorker();
