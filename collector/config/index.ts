// The collector's configuration: one YAML file checked once at start against one strict schema,
// then frozen. Every problem is reported together, naming the field, the value and what was expected.
export type { AlertsConfig, ApiRole, ApiToken, CollectorConfig, DeviceCredential, FleetRule, ListenAddress, TlsClientOptions } from './types.js';
export {
  CollectorConfigError,
  DEFAULT_DATA_DIR,
  DEFAULT_HTTP_LISTEN,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MQTT_LISTEN,
  defaultCollectorConfig,
  loadCollectorConfig,
  parseCollectorConfig,
  readListen,
  readSize,
  type CollectorConfigErrorCode,
  type CollectorConfigIssue,
  type ParseOptions,
} from './load.js';
