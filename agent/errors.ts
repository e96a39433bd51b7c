// The error catalogue: every failure the agent reports carries an `EW_ERR_*` code, documented in
// docs/errors.md. Config and usage errors exit with 2, runtime failures with 1.

export const ERROR_CODES = {
  EW_ERR_CONFIG_READ: 'the configuration file could not be read',
  EW_ERR_CONFIG_SYNTAX: 'the configuration file is not valid YAML (line named)',
  EW_ERR_CONFIG_INVALID: 'the configuration is invalid (field, value and what was expected are named)',
  EW_ERR_USAGE: 'the command line is invalid',
  EW_ERR_LOCKED: 'another agent is using the same data_dir',
  EW_ERR_NO_DATA: 'a read command found no agent database under data_dir',
  EW_ERR_DB_VERSION: 'the database was written by a newer agent',
  EW_ERR_UNKNOWN_MODEL: 'a command named a model that is not in the configuration',
  EW_ERR_READ: 'a log file could not be opened or read (logged once per file and cause; the agent carries on)',
  EW_ERR_COMMIT: 'a commit to the database failed',
  EW_ERR_SYSTEM_SOURCE: 'a system source (GPU tool, /proc file, process, Docker) failed; skipped with a back-off, counted by cause, logged once per cause',
  EW_ERR_SYNC: 'the broker could not be reached or refused the connection (logged once per cause; summaries wait in the outbox and go on a later connection)',
  EW_ERR_BUNDLE: 'an export bundle could not be written',
  EW_ERR_METRICS_LISTEN: 'the metrics endpoint could not listen on metrics.listen (address in use, not local, bad host)',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class AgentError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AgentError';
  }

  /** Exit code for the command line: 2 for what the user must fix in the call, 1 otherwise. */
  get exitCode(): number {
    return this.code === 'EW_ERR_USAGE' || this.code === 'EW_ERR_UNKNOWN_MODEL' ? 2 : 1;
  }
}
