// The subscriber stage: with mqtt.url set, the collector subscribes to an external broker in a
// persistent QoS 1 session and acknowledges each message only after ingest has committed it, so a
// collector that stops, or a broker that drops the link, loses nothing and stores nothing twice.
export {
  startSubscriber,
  withoutPassword,
  DEFAULT_BACKOFF,
  type Backoff,
  type MqttSink,
  type Subscriber,
  type SubscriberOptions,
  type SubscriberStats,
} from './subscriber.js';
export { clientOptions, subscriptionTopic, SubscriberConfigError, SESSION_EXPIRY_S, TOPIC_FILTER } from './options.js';
