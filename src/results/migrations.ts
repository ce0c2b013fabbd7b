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
  {
    version: 2,
    name: 'record_classifications: one round trip per batch',
    // Same steps as a client-side transaction (lock the object rows in order, upsert them, replace
    // their child rows), run server-side so one call costs one round trip.
    sql: `
CREATE OR REPLACE FUNCTION assay.record_classifications(
  p_scan_id text, p_ruleset text, p_objects jsonb, p_findings jsonb, p_columns jsonb, p_counts jsonb, p_failures jsonb)
RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  v_ids text[];
  v_replaced text[];
BEGIN
  SELECT array_agg(t.object_id ORDER BY t.object_id) INTO v_ids
  FROM jsonb_to_recordset(p_objects) AS t(object_id text);

  -- Lock every existing row first (a statement of its own, so no status filter can skip a row a
  -- concurrent writer is about to classify); the next statement's snapshot then sees its commit.
  PERFORM 1 FROM assay.objects o
  WHERE o.scan_id = p_scan_id AND o.object_id = ANY(v_ids)
  ORDER BY o.object_id FOR UPDATE;

  SELECT coalesce(array_agg(o.object_id), '{}') INTO v_replaced FROM assay.objects o
  WHERE o.scan_id = p_scan_id AND o.object_id = ANY(v_ids) AND o.status IN ('classified', 'skipped');

  INSERT INTO assay.objects AS o
    (scan_id, object_id, path, object_type, status, ruleset_version, finding_count, bytes_scanned)
  SELECT p_scan_id, t.object_id, t.path, 'file', 'classified', p_ruleset, t.finding_count, t.bytes_scanned
  FROM jsonb_to_recordset(p_objects) AS t(object_id text, path text, finding_count bigint, bytes_scanned bigint)
  ORDER BY t.object_id
  ON CONFLICT (scan_id, object_id) DO UPDATE SET
    status = 'classified', error_type = NULL, error_message = NULL,
    ruleset_version = EXCLUDED.ruleset_version, finding_count = EXCLUDED.finding_count,
    bytes_scanned = EXCLUDED.bytes_scanned, updated_at = now();

  IF cardinality(v_replaced) > 0 THEN
    DELETE FROM assay.findings WHERE scan_id = p_scan_id AND object_id = ANY(v_replaced);
    DELETE FROM assay.column_classifications WHERE scan_id = p_scan_id AND object_id = ANY(v_replaced);
    DELETE FROM assay.finding_counts WHERE scan_id = p_scan_id AND object_id = ANY(v_replaced);
    DELETE FROM assay.component_failures WHERE scan_id = p_scan_id AND object_id = ANY(v_replaced);
  END IF;

  INSERT INTO assay.findings (scan_id, object_id, component_path, start_offset, end_offset, line, column_name,
    row_index, info_type, category, likelihood, masked, fingerprint, detector_version)
  SELECT p_scan_id, t.object_id, t.component_path, t.start_offset, t.end_offset, t.line, t.column_name,
    t.row_index, t.info_type, t.category, t.likelihood, t.masked, t.fingerprint, t.detector_version
  FROM jsonb_to_recordset(p_findings) AS t(object_id text, component_path text, start_offset bigint,
    end_offset bigint, line integer, column_name text, row_index bigint, info_type text, category text,
    likelihood text, masked text, fingerprint text, detector_version text)
  ON CONFLICT DO NOTHING;

  INSERT INTO assay.column_classifications (scan_id, object_id, component_path, column_name, info_type,
    category, likelihood, matched_rows, sampled_rows, ratio)
  SELECT p_scan_id, t.object_id, t.component_path, t.column_name, t.info_type, t.category, t.likelihood,
    t.matched_rows, t.sampled_rows, t.ratio
  FROM jsonb_to_recordset(p_columns) AS t(object_id text, component_path text, column_name text, info_type text,
    category text, likelihood text, matched_rows bigint, sampled_rows bigint, ratio double precision)
  ON CONFLICT (scan_id, object_id, component_path, column_name, info_type) DO UPDATE SET
    category = EXCLUDED.category, likelihood = EXCLUDED.likelihood, matched_rows = EXCLUDED.matched_rows,
    sampled_rows = EXCLUDED.sampled_rows, ratio = EXCLUDED.ratio;

  INSERT INTO assay.finding_counts (scan_id, object_id, info_type, category, count)
  SELECT p_scan_id, t.object_id, t.info_type, t.category, t.count
  FROM jsonb_to_recordset(p_counts) AS t(object_id text, info_type text, category text, count bigint)
  ON CONFLICT (scan_id, object_id, info_type) DO UPDATE SET category = EXCLUDED.category, count = EXCLUDED.count;

  INSERT INTO assay.component_failures (scan_id, object_id, component_path, error_type, error_message)
  SELECT p_scan_id, t.object_id, t.component_path, t.error_type, t.error_message
  FROM jsonb_to_recordset(p_failures) AS t(object_id text, component_path text, error_type text, error_message text)
  ON CONFLICT (scan_id, object_id, component_path, error_type) DO UPDATE SET error_message = EXCLUDED.error_message;
END
$fn$;
`,
  },
  {
    version: 3,
    name: 'record_classifications: key lookups only',
    // The status index made the planner (with a scan's fresh, un-analysed rows) scan every row of the scan
    // per call: O(objects²) per scan. Status queries are per scan and read the scan's rows anyway; dropping
    // the index also saves an index write per object update. The lock and the finished-before check are one
    // statement: FOR UPDATE re-reads a row a concurrent writer changed, so the status seen is the committed one.
    // The fingerprint index cost a random-order index write per finding (a third of the insert) and no query
    // reads it; a deployment that correlates findings by fingerprint can create it.
    sql: `
DROP INDEX IF EXISTS assay.objects_status_idx;
DROP INDEX IF EXISTS assay.findings_fingerprint_idx;
CREATE OR REPLACE FUNCTION assay.record_classifications(
  p_scan_id text, p_ruleset text, p_objects jsonb, p_findings jsonb, p_columns jsonb, p_counts jsonb, p_failures jsonb)
RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  v_ids text[];
  v_replaced text[];
BEGIN
  SELECT array_agg(t.object_id ORDER BY t.object_id) INTO v_ids
  FROM jsonb_to_recordset(p_objects) AS t(object_id text);

  -- One primary-key probe per object (LATERAL), in key order, whatever the table's statistics say.
  SELECT coalesce(array_agg(l.object_id) FILTER (WHERE l.status IN ('classified', 'skipped')), '{}')
  INTO v_replaced
  FROM unnest(v_ids) WITH ORDINALITY AS i(object_id, n)
  CROSS JOIN LATERAL (SELECT o.object_id, o.status FROM assay.objects o
                      WHERE o.scan_id = p_scan_id AND o.object_id = i.object_id FOR UPDATE) l;

  -- Details read with the content (optional per object) are recorded as recordDetails does: the enumerated
  -- version (size, etag, last_modified) stays authoritative.
  INSERT INTO assay.objects AS o
    (scan_id, object_id, path, object_type, status, ruleset_version, finding_count, bytes_scanned,
     size, etag, last_modified, details)
  SELECT p_scan_id, t.object_id, t.path, 'file', 'classified', p_ruleset, t.finding_count, t.bytes_scanned,
     t.size, t.etag, t.last_modified, t.details
  FROM jsonb_to_recordset(p_objects) AS t(object_id text, path text, finding_count bigint, bytes_scanned bigint,
     size bigint, etag text, last_modified text, details jsonb)
  ORDER BY t.object_id
  ON CONFLICT (scan_id, object_id) DO UPDATE SET
    status = 'classified', error_type = NULL, error_message = NULL,
    ruleset_version = EXCLUDED.ruleset_version, finding_count = EXCLUDED.finding_count,
    bytes_scanned = EXCLUDED.bytes_scanned, details = COALESCE(EXCLUDED.details, o.details),
    size = COALESCE(o.size, EXCLUDED.size), etag = COALESCE(o.etag, EXCLUDED.etag),
    last_modified = COALESCE(o.last_modified, EXCLUDED.last_modified), updated_at = now();

  IF cardinality(v_replaced) > 0 THEN
    DELETE FROM assay.findings WHERE scan_id = p_scan_id AND object_id = ANY(v_replaced);
    DELETE FROM assay.column_classifications WHERE scan_id = p_scan_id AND object_id = ANY(v_replaced);
    DELETE FROM assay.finding_counts WHERE scan_id = p_scan_id AND object_id = ANY(v_replaced);
    DELETE FROM assay.component_failures WHERE scan_id = p_scan_id AND object_id = ANY(v_replaced);
  END IF;

  INSERT INTO assay.findings (scan_id, object_id, component_path, start_offset, end_offset, line, column_name,
    row_index, info_type, category, likelihood, masked, fingerprint, detector_version)
  SELECT p_scan_id, t.object_id, t.component_path, t.start_offset, t.end_offset, t.line, t.column_name,
    t.row_index, t.info_type, t.category, t.likelihood, t.masked, t.fingerprint, t.detector_version
  FROM jsonb_to_recordset(p_findings) AS t(object_id text, component_path text, start_offset bigint,
    end_offset bigint, line integer, column_name text, row_index bigint, info_type text, category text,
    likelihood text, masked text, fingerprint text, detector_version text)
  ON CONFLICT DO NOTHING;

  INSERT INTO assay.column_classifications (scan_id, object_id, component_path, column_name, info_type,
    category, likelihood, matched_rows, sampled_rows, ratio)
  SELECT p_scan_id, t.object_id, t.component_path, t.column_name, t.info_type, t.category, t.likelihood,
    t.matched_rows, t.sampled_rows, t.ratio
  FROM jsonb_to_recordset(p_columns) AS t(object_id text, component_path text, column_name text, info_type text,
    category text, likelihood text, matched_rows bigint, sampled_rows bigint, ratio double precision)
  ON CONFLICT (scan_id, object_id, component_path, column_name, info_type) DO UPDATE SET
    category = EXCLUDED.category, likelihood = EXCLUDED.likelihood, matched_rows = EXCLUDED.matched_rows,
    sampled_rows = EXCLUDED.sampled_rows, ratio = EXCLUDED.ratio;

  INSERT INTO assay.finding_counts (scan_id, object_id, info_type, category, count)
  SELECT p_scan_id, t.object_id, t.info_type, t.category, t.count
  FROM jsonb_to_recordset(p_counts) AS t(object_id text, info_type text, category text, count bigint)
  ON CONFLICT (scan_id, object_id, info_type) DO UPDATE SET category = EXCLUDED.category, count = EXCLUDED.count;

  INSERT INTO assay.component_failures (scan_id, object_id, component_path, error_type, error_message)
  SELECT p_scan_id, t.object_id, t.component_path, t.error_type, t.error_message
  FROM jsonb_to_recordset(p_failures) AS t(object_id text, component_path text, error_type text, error_message text)
  ON CONFLICT (scan_id, object_id, component_path, error_type) DO UPDATE SET error_message = EXCLUDED.error_message;
END
$fn$;
`,
  },
  {
    version: 4,
    name: 'byte-order keys; findings by COPY, replaced per object instead of a natural-key index',
    // Profiling the results write (bench/e2e.ts) showed PostgreSQL's CPU going to locale string comparison
    // (strcoll, under C.UTF-8 or en_US) in every key index, and to the findings' wide natural-key index. Keys
    // now compare as bytes (COLLATE "C": the same order as C.UTF-8). The natural key is not needed for
    // idempotency: record_classified_objects locks each object's row and replaces all of its child rows, so a
    // retry or replay rewrites the same findings; findings are found by (scan, object) through a narrow index.
    // Findings and counts then need no conflict handling, so they are loaded with COPY.
    sql: `
DROP INDEX IF EXISTS assay.findings_natural_key;
ALTER TABLE assay.scans ALTER COLUMN scan_id TYPE text COLLATE "C";
ALTER TABLE assay.objects ALTER COLUMN scan_id TYPE text COLLATE "C", ALTER COLUMN object_id TYPE text COLLATE "C";
ALTER TABLE assay.findings ALTER COLUMN scan_id TYPE text COLLATE "C", ALTER COLUMN object_id TYPE text COLLATE "C", ALTER COLUMN component_path TYPE text COLLATE "C", ALTER COLUMN info_type TYPE text COLLATE "C", ALTER COLUMN column_name TYPE text COLLATE "C";
ALTER TABLE assay.column_classifications ALTER COLUMN scan_id TYPE text COLLATE "C", ALTER COLUMN object_id TYPE text COLLATE "C", ALTER COLUMN component_path TYPE text COLLATE "C", ALTER COLUMN column_name TYPE text COLLATE "C", ALTER COLUMN info_type TYPE text COLLATE "C";
ALTER TABLE assay.finding_counts ALTER COLUMN scan_id TYPE text COLLATE "C", ALTER COLUMN object_id TYPE text COLLATE "C", ALTER COLUMN info_type TYPE text COLLATE "C";
ALTER TABLE assay.component_failures ALTER COLUMN scan_id TYPE text COLLATE "C", ALTER COLUMN object_id TYPE text COLLATE "C", ALTER COLUMN component_path TYPE text COLLATE "C", ALTER COLUMN error_type TYPE text COLLATE "C";
CREATE INDEX IF NOT EXISTS findings_object_idx ON assay.findings (scan_id, object_id);
DROP FUNCTION assay.record_classifications(text, text, jsonb, jsonb, jsonb, jsonb, jsonb);
-- The objects' rows, columns and component failures of a batch; the caller then COPYs the findings and counts in
-- the same transaction (the bulk of the rows: COPY parses them far faster than jsonb).
CREATE FUNCTION assay.record_classified_objects(
  p_scan_id text, p_ruleset text, p_objects jsonb, p_columns jsonb, p_failures jsonb)
RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  v_ids text[];
  v_replaced text[];
BEGIN
  SELECT array_agg(t.object_id ORDER BY t.object_id) INTO v_ids
  FROM jsonb_to_recordset(p_objects) AS t(object_id text);

  -- An object never enumerated (a lone recordClassification) gets its row first, so that the lock below
  -- covers every object and two writers of one object take turns.
  INSERT INTO assay.objects (scan_id, object_id, path, object_type)
  SELECT p_scan_id, t.object_id, t.path, 'file'
  FROM jsonb_to_recordset(p_objects) AS t(object_id text, path text)
  ORDER BY t.object_id
  ON CONFLICT (scan_id, object_id) DO NOTHING;

  -- One primary-key probe per object (LATERAL), in key order, whatever the table's statistics say. Any row
  -- past 'discovered' may have child rows (a skipped object's carried findings stay if it later failed).
  SELECT coalesce(array_agg(l.object_id) FILTER (WHERE l.status <> 'discovered'), '{}')
  INTO v_replaced
  FROM unnest(v_ids) WITH ORDINALITY AS i(object_id, n)
  CROSS JOIN LATERAL (SELECT o.object_id, o.status FROM assay.objects o
                      WHERE o.scan_id = p_scan_id AND o.object_id = i.object_id FOR UPDATE) l;

  -- Details read with the content (optional per object) are recorded as recordDetails does: the enumerated
  -- version (size, etag, last_modified) stays authoritative.
  INSERT INTO assay.objects AS o
    (scan_id, object_id, path, object_type, status, ruleset_version, finding_count, bytes_scanned,
     size, etag, last_modified, details)
  SELECT p_scan_id, t.object_id, t.path, 'file', 'classified', p_ruleset, t.finding_count, t.bytes_scanned,
     t.size, t.etag, t.last_modified, t.details
  FROM jsonb_to_recordset(p_objects) AS t(object_id text, path text, finding_count bigint, bytes_scanned bigint,
     size bigint, etag text, last_modified text, details jsonb)
  ORDER BY t.object_id
  ON CONFLICT (scan_id, object_id) DO UPDATE SET
    status = 'classified', error_type = NULL, error_message = NULL,
    ruleset_version = EXCLUDED.ruleset_version, finding_count = EXCLUDED.finding_count,
    bytes_scanned = EXCLUDED.bytes_scanned, details = COALESCE(EXCLUDED.details, o.details),
    size = COALESCE(o.size, EXCLUDED.size), etag = COALESCE(o.etag, EXCLUDED.etag),
    last_modified = COALESCE(o.last_modified, EXCLUDED.last_modified), updated_at = now();

  IF cardinality(v_replaced) > 0 THEN
    DELETE FROM assay.findings WHERE scan_id = p_scan_id AND object_id = ANY(v_replaced);
    DELETE FROM assay.column_classifications WHERE scan_id = p_scan_id AND object_id = ANY(v_replaced);
    DELETE FROM assay.finding_counts WHERE scan_id = p_scan_id AND object_id = ANY(v_replaced);
    DELETE FROM assay.component_failures WHERE scan_id = p_scan_id AND object_id = ANY(v_replaced);
  END IF;

  INSERT INTO assay.column_classifications (scan_id, object_id, component_path, column_name, info_type,
    category, likelihood, matched_rows, sampled_rows, ratio)
  SELECT p_scan_id, t.object_id, t.component_path, t.column_name, t.info_type, t.category, t.likelihood,
    t.matched_rows, t.sampled_rows, t.ratio
  FROM jsonb_to_recordset(p_columns) AS t(object_id text, component_path text, column_name text, info_type text,
    category text, likelihood text, matched_rows bigint, sampled_rows bigint, ratio double precision)
  ON CONFLICT (scan_id, object_id, component_path, column_name, info_type) DO UPDATE SET
    category = EXCLUDED.category, likelihood = EXCLUDED.likelihood, matched_rows = EXCLUDED.matched_rows,
    sampled_rows = EXCLUDED.sampled_rows, ratio = EXCLUDED.ratio;

  INSERT INTO assay.component_failures (scan_id, object_id, component_path, error_type, error_message)
  SELECT p_scan_id, t.object_id, t.component_path, t.error_type, t.error_message
  FROM jsonb_to_recordset(p_failures) AS t(object_id text, component_path text, error_type text, error_message text)
  ON CONFLICT (scan_id, object_id, component_path, error_type) DO UPDATE SET error_message = EXCLUDED.error_message;
END
$fn$;
`,
  },
  {
    version: 5,
    name: 'objects updated in place: no index on finding_count, room on each page for the classified version',
    // An object's row is written twice, when enumerated and when classified. The partial index on finding_count
    // made every second write an index insert (a fifth of PostgreSQL's CPU per object in bench/e2e.ts), and full
    // pages made it a non-HOT update that also inserted into the primary key and batch indexes. The reports that
    // read finding_count (hot spots, locations) read one scan's rows through the primary key instead.
    sql: `
DROP INDEX IF EXISTS assay.objects_findings_idx;
ALTER TABLE assay.objects SET (fillfactor = 50);
`,
  },
  {
    version: 6,
    name: 'record_classified_objects: one probe and one plain update per object',
    // The function probed each object three times (insert-if-missing, lock, insert-or-update) and the
    // insert-or-update locked the row a second time before updating it. Now the lock reads the rows' ctids, rows
    // are inserted only when some are missing, and the locked rows are updated by ctid: a third less
    // PostgreSQL CPU for the objects' part of a batch (scratch measurement, 20,000 objects, no findings).
    sql: `
CREATE OR REPLACE FUNCTION assay.record_classified_objects(
  p_scan_id text, p_ruleset text, p_objects jsonb, p_columns jsonb, p_failures jsonb)
RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  v_ids text[];
  v_rows tid[];
  v_replaced text[];
  v_attempt integer;
BEGIN
  SELECT array_agg(t.object_id ORDER BY t.object_id) INTO v_ids
  FROM jsonb_to_recordset(p_objects) AS t(object_id text);

  -- One primary-key probe per object (LATERAL), in key order, whatever the table's statistics say: locks each
  -- row, so two writers of one object take turns, and reads its status. Any row past 'discovered' may have child
  -- rows (a skipped object's carried findings stay if it later failed). Objects never enumerated (a lone
  -- recordClassification) get their rows first, and the probe runs once more.
  FOR v_attempt IN 1..2 LOOP
    SELECT coalesce(array_agg(l.ctid), '{}'), coalesce(array_agg(l.object_id) FILTER (WHERE l.status <> 'discovered'), '{}')
    INTO v_rows, v_replaced
    FROM unnest(v_ids) AS i(object_id)
    CROSS JOIN LATERAL (SELECT o.ctid, o.object_id, o.status FROM assay.objects o
                        WHERE o.scan_id = p_scan_id AND o.object_id = i.object_id FOR UPDATE) l;
    EXIT WHEN cardinality(v_rows) = cardinality(v_ids) OR v_attempt = 2;
    INSERT INTO assay.objects (scan_id, object_id, path, object_type)
    SELECT p_scan_id, t.object_id, t.path, 'file'
    FROM jsonb_to_recordset(p_objects) AS t(object_id text, path text)
    ORDER BY t.object_id
    ON CONFLICT (scan_id, object_id) DO NOTHING;
  END LOOP;

  -- The rows are locked, so their ctids hold: each is updated where it lies (a TID scan, no index probe and no
  -- conflict handling; in place, HOT). Details read with the content are recorded as recordDetails does: the
  -- enumerated version (size, etag, last_modified) stays.
  UPDATE assay.objects AS o SET
    status = 'classified', error_type = NULL, error_message = NULL,
    ruleset_version = p_ruleset, finding_count = t.finding_count,
    bytes_scanned = t.bytes_scanned, details = COALESCE(t.details, o.details),
    size = COALESCE(o.size, t.size), etag = COALESCE(o.etag, t.etag),
    last_modified = COALESCE(o.last_modified, t.last_modified), updated_at = now()
  FROM jsonb_to_recordset(p_objects) AS t(object_id text, finding_count bigint, bytes_scanned bigint,
     size bigint, etag text, last_modified text, details jsonb)
  WHERE o.ctid = ANY(v_rows) AND o.scan_id = p_scan_id AND o.object_id = t.object_id;

  IF cardinality(v_replaced) > 0 THEN
    DELETE FROM assay.findings WHERE scan_id = p_scan_id AND object_id = ANY(v_replaced);
    DELETE FROM assay.column_classifications WHERE scan_id = p_scan_id AND object_id = ANY(v_replaced);
    DELETE FROM assay.finding_counts WHERE scan_id = p_scan_id AND object_id = ANY(v_replaced);
    DELETE FROM assay.component_failures WHERE scan_id = p_scan_id AND object_id = ANY(v_replaced);
  END IF;

  INSERT INTO assay.column_classifications (scan_id, object_id, component_path, column_name, info_type,
    category, likelihood, matched_rows, sampled_rows, ratio)
  SELECT p_scan_id, t.object_id, t.component_path, t.column_name, t.info_type, t.category, t.likelihood,
    t.matched_rows, t.sampled_rows, t.ratio
  FROM jsonb_to_recordset(p_columns) AS t(object_id text, component_path text, column_name text, info_type text,
    category text, likelihood text, matched_rows bigint, sampled_rows bigint, ratio double precision)
  ON CONFLICT (scan_id, object_id, component_path, column_name, info_type) DO UPDATE SET
    category = EXCLUDED.category, likelihood = EXCLUDED.likelihood, matched_rows = EXCLUDED.matched_rows,
    sampled_rows = EXCLUDED.sampled_rows, ratio = EXCLUDED.ratio;

  INSERT INTO assay.component_failures (scan_id, object_id, component_path, error_type, error_message)
  SELECT p_scan_id, t.object_id, t.component_path, t.error_type, t.error_message
  FROM jsonb_to_recordset(p_failures) AS t(object_id text, component_path text, error_type text, error_message text)
  ON CONFLICT (scan_id, object_id, component_path, error_type) DO UPDATE SET error_message = EXCLUDED.error_message;
END
$fn$;
`,
  },
];
