/** Platform data models: the TypeScript edition of the guide's core.models.models. */

export interface WorkPacketHeader {
  taskId: string;
  traceId: string;
  scanId: string;
  datasourceId: string;
}

export interface WorkPacketPayload {
  /** Objects the packet is about (details and content packets). */
  objectIds: string[];
  /** Opaque, JSON-serialisable resume point for enumeration; undefined means "from the start". */
  cursor?: EnumerationCursor;
  options?: WorkPacketOptions;
}

export interface WorkPacketOptions {
  /** Objects per enumeration batch. Default 100. */
  batchSize?: number;
  /** Largest object (bytes) fetched for classification. Default 100 MiB. */
  maxObjectBytes?: number;
  /** Database row sampling. Default: the connector's configured sampling. */
  sampling?: SamplingOptions;
  /** Cancels in-flight I/O (activity cancellation). */
  abortSignal?: AbortSignal;
  /**
   * Details may fetch small objects' content ahead for the content call that follows (S3: one ranged
   * GET instead of HEAD + GET). False when most objects will not be read, e.g. incremental rescans.
   * Default true.
   */
  prefetchContent?: boolean;
}

export type SamplingOptions =
  { mode: 'full' } | { mode: 'limit'; rows: number } | { mode: 'percent'; percent: number; seed?: number };

export interface WorkPacket {
  header: WorkPacketHeader;
  payload: WorkPacketPayload;
}

/** A connector-defined resume point: small (a path or key, a few KB at most) and JSON-serialisable. */
export type EnumerationCursor = { [key: string]: JsonValue };
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export type ObjectType = 'file' | 'table' | 'view';

export interface DiscoveredObject {
  /** `${datasourceId}:${objectPath}` */
  objectId: string;
  datasourceId: string;
  objectPath: string;
  objectType: ObjectType;
  size?: number;
  /** ISO-8601 */
  lastModified?: string;
  etag?: string;
}

/**
 * A batch of discovered objects (the guide's `List[DiscoveredObject]`) that also carries the cursor
 * resuming right after its last object.
 */
export type DiscoveredBatch = DiscoveredObject[] & { cursor: EnumerationCursor };

export function discoveredBatch(objects: DiscoveredObject[], cursor: EnumerationCursor): DiscoveredBatch {
  return Object.assign(objects, { cursor });
}

export interface ColumnMetadata {
  name: string;
  dataType: string;
  nullable: boolean;
  primaryKey: boolean;
}

export interface ObjectMetadata {
  objectId: string;
  objectPath: string;
  objectType: ObjectType;
  /** Set when the object could not be described (e.g. OBJECT_NOT_FOUND, RIGHTS_ACCESS_DENIED). */
  error?: { type: string; message: string };
  size?: number;
  lastModified?: string;
  etag?: string;
  contentType?: string;
  /** Files: mode, uid, gid, ctime, storageClass, encryption, hash… */
  attributes?: Record<string, string | number | boolean | null>;
  /** Tables and views. */
  columns?: ColumnMetadata[];
  estimatedRowCount?: number;
  estimatedBytes?: number;
}

export type ContentKind = 'text' | 'table' | 'error';

export interface ContentComponent {
  objectId: string;
  /** Path inside the object, e.g. `a.zip!/b/c.csv`; the object's own path for a plain file. */
  componentPath: string;
  kind: ContentKind;
  /** kind = 'text': decoded text (one chunk of it when large). */
  text?: string;
  /** Character offset of `text` within the component's decoded text. */
  offset?: number;
  /** 1-based line number of the first character of `text`. */
  line?: number;
  /** kind = 'table': column names and a batch of rows. */
  columns?: string[];
  rows?: unknown[][];
  /** Row index of rows[0] within the table. */
  rowOffset?: number;
  /** kind = 'error': why this component could not be read (CONTENT_CORRUPT, …). */
  error?: { type: string; message: string };
  /** Bytes of the source consumed to produce this component. */
  bytes?: number;
  /**
   * The object's details (as getObjectDetails returns them), learned while reading it — on the object's first
   * component only, and only from connectors with `describesContent` (see IFileDataSourceConnector).
   */
  details?: ObjectMetadata;
}

export interface DatabaseRow {
  objectId: string;
  row: Record<string, unknown>;
  /**
   * Set (with `row` = {}) when this table could not be read (RIGHTS_ACCESS_DENIED, OBJECT_NOT_FOUND,
   * QUERY_TIMEOUT…): a per-object failure that must not end the packet. Rows already yielded for the
   * table stay valid; no further rows follow for it.
   */
  error?: { type: string; message: string };
}
