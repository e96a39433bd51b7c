// Sync end to end through the collector's embedded broker (aedes): test/sync/scenarios.ts.
import { syncScenarios } from './scenarios.js';

syncScenarios('embedded');
