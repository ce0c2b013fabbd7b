/**
 * Versioned schema migrations for the results store, applied in order by `migrate()`. Never edit a
 * released migration: append a new one. Each runs inside the one migration transaction.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The PostgreSQL schema every results table lives in. */
export const RESULTS_SCHEMA = 'assay';

/** Key of the transaction-level advisory lock that serialises concurrent `migrate()` calls. */
export const MIGRATION_LOCK_KEY = 0x4153_5341; // "ASSA"

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial results schema',
    sql: `
CREATE TABLE assay.scans (
  scan_id text PRIMARY KEY,
  datasource_id text NOT NULL,
  datasource_type text NOT NULL,
  ruleset_version text NOT NULL,
  phase text NOT NULL,
  started_at timestamptz NOT NULL,
  finished_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX scans_previous_idx ON assay.scans (datasource_id, ruleset_version, phase, started_at DESC);
CREATE INDEX scans_started_idx ON assay.scans (started_at DESC);

-- Inventory. last_modified is kept as the connector's text, so incremental comparisons are exact.
CREATE TABLE assay.objects (
  scan_id text NOT NULL,
  object_id text NOT NULL,
  path text NOT NULL,
  object_type text NOT NULL,
  size bigint,
  etag text,
  last_modified text,
  status text NOT NULL DEFAULT 'discovered'
    CHECK (status IN ('discovered', 'classified', 'failed', 'skipped')),
  error_type text,
  error_message text,
  ruleset_version text,
  finding_count bigint NOT NULL DEFAULT 0,
  bytes_scanned bigint,
  details jsonb,
  -- Enumeration batch and position in it: the workflow hands activities (scanId, batchNo) only.
  batch_no integer,
  batch_index integer,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scan_id, object_id)
);
CREATE INDEX objects_batch_idx ON assay.objects (scan_id, batch_no, batch_index);
CREATE INDEX objects_status_idx ON assay.objects (scan_id, status);
CREATE INDEX objects_findings_idx ON assay.objects (scan_id, finding_count DESC) WHERE finding_count > 0;

-- Detailed findings (capped per object by the classifier). Never a raw value: masked + fingerprint.
CREATE TABLE assay.findings (
  scan_id text NOT NULL,
  object_id text NOT NULL,
  component_path text NOT NULL,
  start_offset bigint NOT NULL,
  end_offset bigint NOT NULL,
  line integer NOT NULL,
  column_name text,
  row_index bigint,
  info_type text NOT NULL,
  category text NOT NULL,
  likelihood text NOT NULL,
  masked text NOT NULL,
  fingerprint text NOT NULL,
  detector_version text NOT NULL
);
-- Natural key; COALESCE so findings without a column/row still collide with each other.
CREATE UNIQUE INDEX findings_natural_key ON assay.findings
  (scan_id, object_id, component_path, start_offset, info_type, (COALESCE(column_name, '')), (COALESCE(row_index, -1)));
CREATE INDEX findings_fingerprint_idx ON assay.findings (fingerprint);

CREATE TABLE assay.column_classifications (
  scan_id text NOT NULL,
  object_id text NOT NULL,
  component_path text NOT NULL,
  column_name text NOT NULL,
  info_type text NOT NULL,
  category text NOT NULL,
  likelihood text NOT NULL,
  matched_rows bigint NOT NULL,
  sampled_rows bigint NOT NULL,
  ratio double precision NOT NULL,
  PRIMARY KEY (scan_id, object_id, component_path, column_name, info_type)
);

-- Exact counts per object and infoType, including findings beyond the per-object cap.
CREATE TABLE assay.finding_counts (
  scan_id text NOT NULL,
  object_id text NOT NULL,
  info_type text NOT NULL,
  category text,
  count bigint NOT NULL,
  PRIMARY KEY (scan_id, object_id, info_type)
);

-- Parts of a classified object that could not be read (a corrupt archive member, …).
CREATE TABLE assay.component_failures (
  scan_id text NOT NULL,
  object_id text NOT NULL,
  component_path text NOT NULL,
  error_type text NOT NULL,
  error_message text NOT NULL,
  PRIMARY KEY (scan_id, object_id, component_path, error_type)
);
`,
  },
];
