// The tail stage: follows a model's log files and yields complete lines with checkpoints.
// Promise: a checkpoint taken between two lines resumes exactly after the last line handed out,
// across restarts, rename rotation (even while the agent was down), copy-truncate and replacement.
export { Tailer } from './tailer.js';
export type { FileCheckpoint, TailEvents, TailNotice, TailedFile, TailerOptions } from './tailer.js';
export { expandGlob, globBase } from './glob.js';
export { HEAD_BYTES } from './file-identity.js';
