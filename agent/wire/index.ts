// The sync wire format shared by agent and collector: envelopes, bodies, status, topics, bundles.
export * from './envelope.js';
export * from './bundle.js';
export * from './baseline-file.js';
