// The store stage: the agent's one SQLite file. Promise: `commit` writes file offsets, window
// state, counters and inferred feature types in one transaction, so a restart after a crash or a
// power cut resumes from a state in which every line before the offsets was counted exactly once.
export { AgentStore, DB_FILE } from './store.js';
export type { ModelCommit, ModelCounters, StoredWindow } from './store.js';
export { ALL_VERSIONS, BaselineStore, type StoredBaseline } from './baselines.js';
export type { OutboxCommit } from './store.js';
export { OutboxStore, type OutboxEntry, type OutboxMessage, type OutboxStats } from './outbox.js';
