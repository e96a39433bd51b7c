// The embedded broker stage: devices connect with their credentials, publish only under their own
// device id, and every message is committed by ingest before its PUBACK goes out, so an agent's
// outbox and the collector's store never disagree about what was delivered.
export {
  startEmbeddedBroker,
  BrokerListenError,
  type BrokerStats,
  type EmbeddedBroker,
  type EmbeddedBrokerOptions,
} from './embedded.js';
export type { MqttSink } from '../ingest/index.js';
export { AGENT_CLIENT_PREFIX, DeviceGate, authorizeTopic, deviceOfClientId, type Admission, type PublishDecision } from './auth.js';
