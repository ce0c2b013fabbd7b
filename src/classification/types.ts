/** Classification results: what the classifier reports and the results store keeps. */

/** Google Cloud Sensitive Data Protection's five likelihood levels, in order. */
export const LIKELIHOODS = ['VERY_UNLIKELY', 'UNLIKELY', 'POSSIBLE', 'LIKELY', 'VERY_LIKELY'] as const;
export type Likelihood = (typeof LIKELIHOODS)[number];

export type InfoTypeCategory = 'PII' | 'FINANCIAL' | 'GOVERNMENT_ID' | 'HEALTH' | 'CREDENTIAL' | 'NETWORK';

/** One match. Never carries the raw value: only a masked preview and a keyed fingerprint. */
export interface Finding {
  infoType: string;
  category: InfoTypeCategory;
  likelihood: Likelihood;
  /** Path inside the object (`a.zip!/b.csv`); the object path for plain files; the table for rows. */
  componentPath: string;
  /** Character offsets in the component's decoded text (end exclusive). */
  start: number;
  end: number;
  /** 1-based line of `start`. */
  line: number;
  /** Tabular components: the column and 0-based row. */
  column?: string;
  row?: number;
  masked: string;
  /** HMAC-SHA256 of the normalised value under the deployment's fingerprint key, hex. */
  fingerprint: string;
  detectorVersion: string;
}

/** Per-column result for database tables, CSV and spreadsheets. */
export interface ColumnClassification {
  componentPath: string;
  column: string;
  infoType: string;
  category: InfoTypeCategory;
  matchedRows: number;
  sampledRows: number;
  ratio: number;
  likelihood: Likelihood;
}

export interface ComponentFailure {
  componentPath: string;
  /** ErrorType code: CONTENT_CORRUPT, CONTENT_TOO_LARGE, CONTENT_UNSUPPORTED… */
  type: string;
  message: string;
}

/** Everything the classifier learned about one object. */
export interface ObjectClassification {
  objectId: string;
  /** Findings kept in detail (capped per object by `maxFindingsPerObject`). */
  findings: Finding[];
  /** Exact counts by infoType, including findings beyond the cap. */
  findingCounts: Record<string, number>;
  columns: ColumnClassification[];
  failures: ComponentFailure[];
  bytesScanned: number;
}
