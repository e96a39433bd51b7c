// The runtime: wires the stages of every configured model into one pipeline (Agent) and drives it
// (run until stopped, or once). Promise: what is committed is consistent: offsets and profiles agree.
export { Agent } from './agent.js';
export type { AgentOptions } from './agent.js';
export { runUntilStopped, runOnce } from './run.js';
export { readStatus, type AgentStatus } from './status.js';
