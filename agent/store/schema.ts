// The agent's SQLite schema, one migration per `PRAGMA user_version` step. Never edit a released
// migration: add the next one.

export const MIGRATIONS: string[] = [
  // 1: files, windows, rollups, per-model counters and inferred feature types.
  `
  CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  CREATE TABLE files (
    model TEXT NOT NULL,
    key TEXT NOT NULL,            -- dev:inode
    path TEXT NOT NULL,           -- last known path
    head_hash TEXT NOT NULL,
    head_len INTEGER NOT NULL,
    offset INTEGER NOT NULL,      -- byte offset after the last counted line
    size INTEGER NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (model, key)
  );
  CREATE TABLE windows (
    model TEXT NOT NULL,
    model_version TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    closed_at INTEGER,
    count INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    late INTEGER NOT NULL,
    profile BLOB NOT NULL,
    PRIMARY KEY (model, model_version, start_ms)
  );
  CREATE INDEX windows_closed ON windows (model, state, end_ms);
  CREATE TABLE rollups (
    model TEXT NOT NULL,
    model_version TEXT NOT NULL,
    start_ms INTEGER NOT NULL,     -- hour start
    end_ms INTEGER NOT NULL,
    count INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    late INTEGER NOT NULL,
    profile BLOB NOT NULL,
    PRIMARY KEY (model, model_version, start_ms)
  );
  CREATE TABLE model_counters (
    model TEXT PRIMARY KEY,
    accepted INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    late INTEGER NOT NULL,
    rejected_by_reason TEXT NOT NULL, -- JSON object reason -> count
    watermark INTEGER,                -- largest event time seen, epoch ms
    last_version TEXT,
    last_record_at INTEGER            -- wall-clock time of the last accepted record
  );
  CREATE TABLE feature_types (
    model TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('numeric', 'categorical')),
    PRIMARY KEY (model, name)
  );
  `,
  // 2: baselines, and the drift of each closed window against its baseline.
  `
  CREATE TABLE baselines (
    model TEXT NOT NULL,
    model_version TEXT NOT NULL,  -- '*': every version that has none of its own
    source TEXT NOT NULL,         -- the file it was built from, or where it was imported from
    created_at INTEGER NOT NULL,
    records INTEGER NOT NULL,
    profile BLOB NOT NULL,
    complete INTEGER NOT NULL DEFAULT 1, -- 0: still learning from the version's first records
    first_ts INTEGER,                    -- learning: event time of the first record
    PRIMARY KEY (model, model_version)
  );
  ALTER TABLE windows ADD COLUMN drift TEXT; -- JSON drift report against the baseline, at close
  `,
  // 3: delayed ground truth. Predictions waiting for their label and labels waiting for their
  // prediction, joined by request_id; a closed window revised by a late label gets a new revision.
  `
  CREATE TABLE pending_predictions (
    model TEXT NOT NULL,
    request_id TEXT NOT NULL,
    model_version TEXT NOT NULL,
    window_start INTEGER NOT NULL, -- the window the prediction was counted in
    ts INTEGER NOT NULL,           -- its event time; it expires at ts + labels.horizon
    payload TEXT NOT NULL,         -- JSON: prediction, confidence, segment values
    bytes INTEGER NOT NULL,
    PRIMARY KEY (model, request_id)
  );
  CREATE INDEX pending_predictions_ts ON pending_predictions (model, ts);
  CREATE TABLE pending_labels (
    model TEXT NOT NULL,
    request_id TEXT NOT NULL,
    ts INTEGER NOT NULL,
    label TEXT NOT NULL,           -- JSON: a class label or a number
    bytes INTEGER NOT NULL,
    PRIMARY KEY (model, request_id)
  );
  CREATE INDEX pending_labels_ts ON pending_labels (model, ts);
  ALTER TABLE windows ADD COLUMN revision INTEGER NOT NULL DEFAULT 0; -- +1 for each revision after close
  ALTER TABLE model_counters ADD COLUMN labels TEXT;                 -- JSON label-join counters
  `,
  // 4: alerts (agent/alerts/). One row per alert from pending to resolved; at most one active
  // (pending or firing) row per (rule, model, model_version).
  `
  CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,        -- given by the alert engine: one past the largest stored
    rule TEXT NOT NULL,
    model TEXT NOT NULL,
    model_version TEXT NOT NULL,   -- '' for model-wide rules (log silence)
    state TEXT NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
    severity TEXT NOT NULL,
    labels TEXT NOT NULL,          -- JSON object
    metric TEXT NOT NULL,
    op TEXT NOT NULL,
    threshold REAL NOT NULL,
    value REAL NOT NULL,           -- the value that started it, then the one that fired it
    last_value REAL NOT NULL,
    pending_at INTEGER NOT NULL,   -- epoch ms: window end (event time), or wall time for log silence
    firing_at INTEGER,
    resolved_at INTEGER,
    updated_at INTEGER NOT NULL,
    reason TEXT                    -- why it was resolved
  );
  CREATE UNIQUE INDEX alerts_active ON alerts (rule, model, model_version) WHERE state <> 'resolved';
  CREATE INDEX alerts_resolved ON alerts (resolved_at) WHERE state = 'resolved';
  `,
  // 5: the outbox (agent/sync/). Every message for the collector waits here until the broker
  // acknowledges it; seq rises by one per message and is never reused (outbox_state.next_seq, not
  // the rowid, which SQLite may hand out again after the newest row is deleted).
  `
  CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('summary', 'alert', 'gap', 'revision')),
    created_at INTEGER NOT NULL,
    body BLOB NOT NULL,            -- the kind's body, CBOR (agent/wire); the envelope is added when sent
    enc TEXT,                      -- 'deflate': body is deflated CBOR; NULL: plain CBOR
    bytes INTEGER NOT NULL,
    records INTEGER NOT NULL,      -- records counted in the window (summaries), for a gap's count
    window_start INTEGER,
    window_end INTEGER
  );
  CREATE TABLE outbox_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    next_seq INTEGER NOT NULL,
    messages INTEGER NOT NULL,          -- rows in outbox, and their bytes: kept here, not in memory,
    bytes INTEGER NOT NULL,             -- because export --mark-sent may remove rows while an agent runs
    delivered INTEGER NOT NULL,         -- messages acknowledged by the broker or marked sent by export
    dropped_messages INTEGER NOT NULL,  -- pushed out by outbox_max_bytes (each loss is in a gap message)
    dropped_records INTEGER NOT NULL,
    gaps INTEGER NOT NULL,
    trimmed_examples INTEGER NOT NULL,  -- rejection examples left out to fit max_message_bytes
    split_summaries INTEGER NOT NULL    -- summaries sent as several parts to fit max_message_bytes
  );
  INSERT INTO outbox_state VALUES (1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  `,
  // 6: baselines travel to the collector (a 'baseline' outbox message before the first summary
  // compared with one). SQLite cannot change a CHECK constraint: the outbox is copied to a new table.
  `
  CREATE TABLE outbox_new (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('summary', 'alert', 'gap', 'revision', 'baseline')),
    created_at INTEGER NOT NULL,
    body BLOB NOT NULL,
    enc TEXT,
    bytes INTEGER NOT NULL,
    records INTEGER NOT NULL,
    window_start INTEGER,
    window_end INTEGER
  );
  INSERT INTO outbox_new SELECT seq, kind, created_at, body, enc, bytes, records, window_start, window_end FROM outbox;
  DROP TABLE outbox;
  ALTER TABLE outbox_new RENAME TO outbox;
  ALTER TABLE baselines ADD COLUMN sent_id TEXT; -- the id (agent/wire baselineId) of the copy last put in the outbox
  `,
];
