// The collector's configuration after validation (collector/config/load.ts reads the YAML).
// Durations are in ms, sizes in bytes, listen addresses split into host and port.

export interface ListenAddress {
  host: string;
  port: number;
}

export interface TlsClientOptions {
  /** PEM file paths. */
  ca: string | null;
  cert: string | null;
  key: string | null;
  /** Name the server's certificate must carry (SNI), when it differs from the URL's host. */
  servername: string | null;
  reject_unauthorized: boolean;
}

export interface DeviceCredential {
  /** The device id; also its MQTT username. */
  id: string;
  password: string;
}

export type ApiRole = 'read' | 'admin';

/** A bearer token of the HTTP API: `read` reads; `admin` also changes (silences, acks, baselines). */
export interface ApiToken {
  /** Who holds it, for the log. */
  name: string;
  token: string;
  role: ApiRole;
}

/** A fleet alert rule of the config (collector/alerts, docs/alerts-fleet.md). Durations in ms. */
export type FleetRule =
  | {
      name: string;
      /** The share of a model's devices whose newest window (started within `over`) meets `condition`. */
      kind: 'device_share';
      model: string;
      version: string | null;
      site: string | null;
      /** `drifted`: that feature drifted ("*": any feature); `alert`: that agent alert is firing. */
      condition: { drifted: string } | { alert: string };
      min_share: number;
      min_devices: number;
      over: number;
      for: number;
      severity: string;
    }
  | {
      name: string;
      /** The drift share of the fleet's merged profile (latest rolled-up hour) against the baseline. */
      kind: 'fleet_drift';
      model: string;
      version: string | null;
      min_share: number;
      for: number;
      severity: string;
    };

export interface AlertsConfig {
  /** How often the rules are evaluated. */
  interval: number;
  rules: FleetRule[];
  /** Devices offline (last will, status topic) and unheard this long; null: no such alert. */
  device_offline: { grace: number; severity: string } | null;
  /** Devices unheard this long past their sync schedule (continuous: past `grace` alone). */
  sync_overdue: { grace: number; severity: string } | null;
  /** Gaps (outbox overflows) received in the last `hold`. */
  gap: { hold: number; severity: string } | null;
  notify: {
    /** Alertmanager-format webhooks (POST of {version: "4", status, alerts, ...}). */
    webhooks: { url: string; timeout: number }[];
    /** Alertmanagers to push to (POST <url>/api/v2/alerts). */
    alertmanagers: { url: string; timeout: number }[];
    /** The collector's page as seen from outside, for links in notifications; null: none. */
    external_url: string | null;
  };
}

export interface CollectorConfig {
  /** The file it was read from (null: embedded defaults). */
  source: string | null;
  /** Folder of the collector's SQLite file (collector.db). */
  data_dir: string;
  mqtt: {
    /** An external broker to subscribe to (mqtt://, mqtts://, ws://); null: run the embedded broker. */
    url: string | null;
    /** Embedded broker: where it listens (default 0.0.0.0:1883). */
    listen: ListenAddress;
    /** External broker: MQTT 5 shared subscription group, so several collectors split one stream. */
    share_group: string | null;
    /** External broker: the collector's own credentials and client id. */
    username: string | null;
    password: string | null;
    client_id: string;
    tls: TlsClientOptions;
    /** Embedded broker: let devices connect without credentials. */
    allow_anonymous: boolean;
    /** Embedded broker: per-device credentials (username = device id). */
    devices: DeviceCredential[];
    /** Larger messages are refused (reason `oversized`). */
    max_message_bytes: number;
  };
  http: {
    /** Where the HTTP API listens (default 127.0.0.1:8080); null: no HTTP server. */
    listen: ListenAddress | null;
    /** Bearer tokens for /api (everything but /healthz needs one); none: the API answers 401. */
    tokens: ApiToken[];
  };
  alerts: AlertsConfig;
  /** How long what the collector keeps is kept (ms); null: forever. */
  retention: {
    /** Summaries (their bodies and figures) once folded into the rollups. */
    summaries: number | null;
    /** Fleet rollups by resolution: windows, hours, days. */
    fleet_windows: number | null;
    fleet_hours: number | null;
    fleet_days: number | null;
  };
  bundles: {
    /** Key that bundles are signed with (HMAC-SHA256); a signed bundle is refused without it. */
    hmac_key: string | null;
    /** Refuse unsigned bundles. */
    require_hmac: boolean;
  };
}
