// Sync end to end through Mosquitto: a private instance (own port, persistence on) that the tests
// stop and restart, the collector subscribing to it. The test fails, not skips, without Mosquitto.
import { syncScenarios } from './scenarios.js';

syncScenarios('mosquitto');
