// The agent's configuration: one YAML file, checked once at start against one strict schema (unknown
// keys refused with a spelling hint, every problem reported at once with its line), then frozen.
// Everything downstream reads the resolved AgentConfig: durations in ms, sizes in bytes, absolute paths.
export type {
  AgentConfig, FeatureType, FieldMapping, IngestConfig, LogFormat, ModelConfig, RetentionConfig, StartPosition, Task,
} from './types.js';
export { ConfigError, type ConfigErrorCode, type ConfigIssue } from './errors.js';
export { formatDuration, formatSize } from './errors.js';
export { type AgentConfigInput } from './schema.js';
export {
  defaultAgentConfig, loadAgentConfig, parseAgentConfig, parseDuration, parseSize, type ParseAgentConfigOptions,
} from './load.js';
