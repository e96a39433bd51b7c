// Fleet: the merge of every device's window profiles per model, version and bucket (window, hour,
// day), for the whole fleet and per site, kept up to date behind ingest on a thread of its own.
export { FleetAggregator, bucketStart, DAY_MS, FLEET, HOUR_MS, siteScope, tagScope, type FleetAggregatorOptions, type Resolution, type StepResult } from './aggregate.js';
export { DEFAULT_FOLD_INTERVAL_MS, FleetWorker, runFleetWorker, type FleetWorkerOptions } from './worker.js';
export { FleetQueries, MAX_BUCKETS, defaultResolution, type FleetModelRow, type FleetProfile, type FleetProfileQuery, type FleetVersionRow } from './query.js';
export { Pruner, type PruneResult } from './retention.js';
