import type { ContentComponent, DatabaseRow, DiscoveredBatch, ObjectMetadata, WorkPacket } from './models';
import type { SystemLogger } from './logger';
import type { ErrorHandler } from './error-handler';

/**
 * Shared by both connector kinds. `enumerateObjects` yields batches with the cursor that resumes
 * right after each one; calling again with `payload.cursor` continues exactly there.
 */
interface IDataSourceConnector {
  readonly datasourceId: string;
  enumerateObjects(packet: WorkPacket): AsyncIterable<DiscoveredBatch>;
  getObjectDetails(packet: WorkPacket): Promise<ObjectMetadata[]>;
  /** Releases pools and clients. Idempotent. */
  close(): Promise<void>;
}

/** Files and blobs (filesystem, S3). */
export interface IFileDataSourceConnector extends IDataSourceConnector {
  readonly kind: 'file';
  /**
   * Optional, default false. When true, getObjectContent puts each object's details (what getObjectDetails
   * would return, without error) on the object's first component, so a scan reads each object once instead
   * of describing it first; objects that yield no component (empty files) are described by getObjectDetails.
   */
  readonly describesContent?: boolean;
  getObjectContent(packet: WorkPacket): AsyncIterable<ContentComponent>;
}

/** Relational databases (PostgreSQL, MySQL/MariaDB). */
export interface IDatabaseDataSourceConnector extends IDataSourceConnector {
  readonly kind: 'database';
  getObjectContent(packet: WorkPacket): AsyncIterable<DatabaseRow>;
}

export type DataSourceConnector = IFileDataSourceConnector | IDatabaseDataSourceConnector;

/** What the system injects into every connector's constructor. */
export interface ConnectorDependencies<Config> {
  datasourceId: string;
  logger: SystemLogger;
  errorHandler: ErrorHandler;
  config: Config;
}
