// The collector's SQLite schema, one migration per `PRAGMA user_version` step. Never edit a
// released migration: add the next one.

export const MIGRATIONS: string[] = [
  // 1: devices, the (device, seq) dedupe log, and one table per message kind.
  `
  CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    site TEXT NOT NULL,             -- of the newest message (by seq), or of the latest status
    first_seen INTEGER NOT NULL,    -- collector clock, epoch ms
    last_seen INTEGER NOT NULL,     -- the last message stored, duplicate or online status
    agent_version TEXT,             -- from the status topic; null until one arrives
    online INTEGER,                 -- 1 / 0 from the status topic; null: never heard
    status_at INTEGER,              -- the status message's own time
    sync_mode TEXT,                 -- 'continuous' | 'scheduled'
    sync_cron TEXT,
    last_seq INTEGER                -- the largest seq stored
  );
  CREATE TABLE messages (
    device TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('summary', 'revision', 'alert', 'gap')),
    sent_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    bytes INTEGER NOT NULL,         -- the envelope's size
    PRIMARY KEY (device, seq)
  ) WITHOUT ROWID;
  CREATE TABLE summaries (
    device TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('summary', 'revision')),
    model TEXT NOT NULL,
    model_version TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    closed_at INTEGER NOT NULL,
    revision INTEGER NOT NULL,      -- 0: as closed; 1, 2, ...: revised by late labels
    part_index INTEGER NOT NULL,    -- 0 of 1 for a summary sent whole
    part_of INTEGER NOT NULL,
    sent_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    count INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    late INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    latency_p50 REAL,
    latency_p95 REAL,
    latency_p99 REAL,
    confidence_mean REAL,
    drift_share REAL,
    drifted TEXT NOT NULL,          -- JSON array of feature names
    quality REAL,
    alerts TEXT NOT NULL,           -- JSON array of {name, state, severity}
    trimmed_examples INTEGER,       -- rejection examples left out to fit; null: nothing trimmed
    body BLOB NOT NULL,             -- the body as received (profile and drift report inside): CBOR,
    body_enc TEXT,                  -- deflated when this says 'deflate' (NULL: plain CBOR)
    PRIMARY KEY (device, seq)
  );                                -- a rowid table: bodies of kilobytes make a WITHOUT ROWID tree slow
  CREATE INDEX summaries_window ON summaries (device, model, start_ms);
  CREATE TABLE alert_messages (
    device TEXT NOT NULL,
    seq INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    body BLOB NOT NULL,             -- the CBOR body (inflated)
    PRIMARY KEY (device, seq)
  );
  CREATE TABLE alerts (
    device TEXT NOT NULL,
    seq INTEGER NOT NULL,           -- the alert message that carried it
    idx INTEGER NOT NULL,           -- its position in that message
    alert_id INTEGER NOT NULL,      -- the agent's alert id
    rule TEXT NOT NULL,
    model TEXT NOT NULL,
    model_version TEXT NOT NULL,
    state TEXT NOT NULL,
    severity TEXT NOT NULL,
    metric TEXT NOT NULL,
    value REAL,                     -- null for NaN
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (device, seq, idx)
  ) WITHOUT ROWID;
  CREATE INDEX alerts_rule ON alerts (rule, state);
  CREATE TABLE gaps (
    device TEXT NOT NULL,
    seq INTEGER NOT NULL,
    from_seq INTEGER NOT NULL,
    to_seq INTEGER NOT NULL,
    messages INTEGER NOT NULL,
    records INTEGER NOT NULL,
    windows_from INTEGER,
    windows_to INTEGER,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (device, seq)
  ) WITHOUT ROWID;
  CREATE TABLE rejections (
    device TEXT NOT NULL,           -- '' when the message named no device that could be read
    reason TEXT NOT NULL,
    count INTEGER NOT NULL,
    last_detail TEXT NOT NULL,
    last_at INTEGER NOT NULL,
    PRIMARY KEY (device, reason)
  ) WITHOUT ROWID;
  CREATE TABLE counters (
    name TEXT PRIMARY KEY,          -- 'duplicates'
    value INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // 2: fleet rollups (collector/fleet): per model, version and bucket, the merge of every device's
  // window profile, for the whole fleet and per site; and where the folding of summaries has got to.
  // Baselines, fleet alerts and silences. Devices count their summaries (counting rows per device
  // at each request does not scale to a fleet of 10,000 with a week of windows each).
  `
  ALTER TABLE devices ADD COLUMN summaries INTEGER NOT NULL DEFAULT 0;  -- summary rows stored, kept at ingest
  UPDATE devices SET summaries = (SELECT count(*) FROM summaries s WHERE s.device = devices.id);
  ALTER TABLE devices ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';       -- JSON array, from the status topic
  CREATE INDEX summaries_fleet ON summaries (model, model_version, start_ms);
  CREATE TABLE fleet_buckets (
    model TEXT NOT NULL,
    model_version TEXT NOT NULL,
    resolution TEXT NOT NULL CHECK (resolution IN ('window', 'hour', 'day')),
    scope TEXT NOT NULL,            -- '' the whole fleet; 'site:<name>' one site
    start_ms INTEGER NOT NULL,      -- the window's start, or the UTC hour or day it falls in
    profile BLOB NOT NULL,          -- WindowProfile.encode() of the merge
    windows INTEGER NOT NULL,       -- device windows merged in (a device's window once, at its latest revision)
    records INTEGER NOT NULL,
    drift_share REAL,               -- hour and day buckets: share of features drifted against the
    drifted TEXT,                   -- baseline, and which (JSON array); null without a baseline
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (model, model_version, resolution, scope, start_ms)
  );
  CREATE TABLE fleet_device_versions ( -- which devices ran which model version when (version comparison)
    model TEXT NOT NULL,
    model_version TEXT NOT NULL,
    device TEXT NOT NULL,
    first_start INTEGER NOT NULL,   -- the first and last window folded
    last_start INTEGER NOT NULL,
    PRIMARY KEY (model, model_version, device)
  ) WITHOUT ROWID;
  CREATE TABLE fleet_state (
    name TEXT PRIMARY KEY,          -- 'folded_rowid': summaries up to this rowid are in the buckets
    value INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE baselines (          -- reference profiles for fleet drift, uploaded as baseline files
    model TEXT NOT NULL,
    model_version TEXT NOT NULL,    -- '*': every version of the model
    profile BLOB NOT NULL,          -- WindowProfile.encode()
    records INTEGER NOT NULL,
    source TEXT NOT NULL,           -- what it was made from, as the file says
    created_at INTEGER NOT NULL,    -- when the agent made it
    uploaded_at INTEGER NOT NULL,
    uploaded_by TEXT NOT NULL,      -- the API token's name
    PRIMARY KEY (model, model_version)
  );
  CREATE TABLE fleet_alerts (       -- fleet alerts (collector/alerts): one row per alert, kept after it resolves
    fingerprint TEXT PRIMARY KEY,   -- hash of the name and labels: the alert's identity
    name TEXT NOT NULL,
    labels TEXT NOT NULL,           -- JSON object, the name included as alertname
    severity TEXT NOT NULL,
    source TEXT NOT NULL,           -- 'devices': agent alerts grouped; 'rule': a fleet rule of the config
    state TEXT NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
    summary TEXT NOT NULL,
    devices TEXT NOT NULL,          -- JSON array of {device, site, state}
    firing INTEGER NOT NULL,        -- devices firing (or in the condition)
    resolved INTEGER NOT NULL,      -- devices resolved
    active_since INTEGER NOT NULL,  -- when it last went pending
    firing_since INTEGER,
    resolved_at INTEGER,
    updated_at INTEGER NOT NULL,
    ack_by TEXT,                    -- acknowledged (cleared when it resolves)
    ack_at INTEGER,
    notified_state TEXT,            -- the state last handed to the notifier
    notified_at INTEGER
  );
  CREATE INDEX fleet_alerts_state ON fleet_alerts (state, updated_at);
  CREATE TABLE silences (
    id TEXT PRIMARY KEY,
    matchers TEXT NOT NULL,         -- JSON object: label -> value, all must match
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    comment TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE fleet_dirty (        -- hour and day buckets whose parts changed since they were merged
    model TEXT NOT NULL,
    model_version TEXT NOT NULL,
    resolution TEXT NOT NULL CHECK (resolution IN ('hour', 'day')),
    start_ms INTEGER NOT NULL,
    since INTEGER NOT NULL,         -- when it was first marked (collector clock)
    PRIMARY KEY (model, model_version, resolution, start_ms)
  ) WITHOUT ROWID;
  `,
  // 3: baselines sent by agents (a 'baseline' message before the first summary compared with one).
  // SQLite cannot change a CHECK constraint: the dedupe log is copied to a new table. A version's
  // fleet baseline is an admin's upload, else the merge of every distinct baseline its agents sent.
  `
  CREATE TABLE messages_new (
    device TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('summary', 'revision', 'alert', 'gap', 'baseline')),
    sent_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    PRIMARY KEY (device, seq)
  ) WITHOUT ROWID;
  INSERT INTO messages_new SELECT device, seq, kind, sent_at, received_at, bytes FROM messages;
  DROP TABLE messages;
  ALTER TABLE messages_new RENAME TO messages;
  ALTER TABLE baselines ADD COLUMN agents INTEGER NOT NULL DEFAULT 0; -- 0: uploaded; n: the merge of n agents' baselines
  CREATE TABLE agent_baselines (    -- each distinct baseline agents sent, by the hash of its profile
    model TEXT NOT NULL,
    model_version TEXT NOT NULL,    -- the agent's key: a version, or '*'
    id TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    records INTEGER NOT NULL,
    first_device TEXT NOT NULL,     -- the devices that sent it: agent_baseline_devices
    received_at INTEGER NOT NULL,   -- the first copy
    merged INTEGER NOT NULL,        -- 1: in the fleet baseline; 0: kept out (an upload was there, or it would not merge)
    PRIMARY KEY (model, model_version, id)
  ) WITHOUT ROWID;
  CREATE TABLE agent_baseline_devices (
    model TEXT NOT NULL,
    model_version TEXT NOT NULL,
    id TEXT NOT NULL,
    device TEXT NOT NULL,
    PRIMARY KEY (model, model_version, id, device)
  ) WITHOUT ROWID;
  `,
];
