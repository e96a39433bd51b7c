// The window stage: routes each record to the profile of its (version, event-time window), closes
// windows behind the watermark, counts late records, and rolls old windows up hourly.
// Promise: every accepted record is in exactly one window; every late one is counted as late.
export { ModelWindows, windowStart, emptyCounters, UNKNOWN_VERSION, MAX_FUTURE_SKEW_MS } from './model-windows.js';
export { rollUpExpired } from './retention.js';
export { BaselineLearner } from './learner.js';
