import { ErrorType, PlatformError, platformError, type ErrorContext } from './errors';

/**
 * Turns raw library errors (Node errno, AWS SDK S3, PostgreSQL SQLSTATE, mysql2) into platform
 * errors. One table per library; anything unknown becomes INTERNAL and keeps its cause.
 */

interface Mapping {
  type: ErrorType;
  describe: string;
}

/** Node.js system error codes (`err.code`). */
export const NODE_ERRNO_TABLE: Readonly<Record<string, Mapping>> = {
  ECONNREFUSED: { type: ErrorType.NETWORK_CONNECTION_FAILED, describe: 'connection refused' },
  ECONNRESET: { type: ErrorType.NETWORK_CONNECTION_FAILED, describe: 'connection reset' },
  EPIPE: { type: ErrorType.NETWORK_CONNECTION_FAILED, describe: 'connection closed' },
  EHOSTUNREACH: { type: ErrorType.NETWORK_CONNECTION_FAILED, describe: 'host unreachable' },
  ENETUNREACH: { type: ErrorType.NETWORK_CONNECTION_FAILED, describe: 'network unreachable' },
  ENOTFOUND: { type: ErrorType.NETWORK_CONNECTION_FAILED, describe: 'host not found' },
  EAI_AGAIN: { type: ErrorType.NETWORK_CONNECTION_FAILED, describe: 'DNS lookup failed' },
  ETIMEDOUT: { type: ErrorType.NETWORK_TIMEOUT, describe: 'timed out' },
  ESOCKETTIMEDOUT: { type: ErrorType.NETWORK_TIMEOUT, describe: 'socket timed out' },
  EACCES: { type: ErrorType.RIGHTS_ACCESS_DENIED, describe: 'permission denied' },
  EPERM: { type: ErrorType.RIGHTS_ACCESS_DENIED, describe: 'operation not permitted' },
  ENOENT: { type: ErrorType.OBJECT_NOT_FOUND, describe: 'no such file or directory' },
  ENOTDIR: { type: ErrorType.OBJECT_NOT_FOUND, describe: 'not a directory' },
  ELOOP: { type: ErrorType.CONTENT_UNSUPPORTED, describe: 'too many levels of symbolic links' },
  EISDIR: { type: ErrorType.CONTENT_UNSUPPORTED, describe: 'is a directory' },
  EMFILE: { type: ErrorType.SOURCE_UNAVAILABLE, describe: 'too many open files' },
  ENOSPC: { type: ErrorType.INTERNAL, describe: 'no space left on device' },
};

/** AWS SDK v3 S3 error names (`err.name` / `err.Code`). */
export const S3_ERROR_TABLE: Readonly<Record<string, Mapping>> = {
  AccessDenied: { type: ErrorType.RIGHTS_ACCESS_DENIED, describe: 'access denied' },
  AllAccessDisabled: { type: ErrorType.RIGHTS_ACCESS_DENIED, describe: 'all access disabled' },
  InvalidAccessKeyId: { type: ErrorType.RIGHTS_AUTHENTICATION_FAILED, describe: 'invalid access key id' },
  SignatureDoesNotMatch: {
    type: ErrorType.RIGHTS_AUTHENTICATION_FAILED,
    describe: 'signature does not match (wrong secret key)',
  },
  ExpiredToken: { type: ErrorType.RIGHTS_AUTHENTICATION_FAILED, describe: 'expired token' },
  InvalidToken: { type: ErrorType.RIGHTS_AUTHENTICATION_FAILED, describe: 'invalid token' },
  CredentialsProviderError: {
    type: ErrorType.RIGHTS_AUTHENTICATION_FAILED,
    describe: 'no AWS credentials found',
  },
  NoSuchBucket: { type: ErrorType.CONFIGURATION_INVALID, describe: 'bucket does not exist' },
  InvalidBucketName: { type: ErrorType.CONFIGURATION_INVALID, describe: 'invalid bucket name' },
  PermanentRedirect: { type: ErrorType.CONFIGURATION_INVALID, describe: 'bucket is in another region' },
  AuthorizationHeaderMalformed: {
    type: ErrorType.CONFIGURATION_INVALID,
    describe: 'wrong region for bucket',
  },
  NoSuchKey: { type: ErrorType.OBJECT_NOT_FOUND, describe: 'object does not exist' },
  NotFound: { type: ErrorType.OBJECT_NOT_FOUND, describe: 'object does not exist' },
  InvalidObjectState: { type: ErrorType.CONTENT_UNSUPPORTED, describe: 'object is archived' },
  SlowDown: { type: ErrorType.THROTTLED, describe: 'request rate too high (SlowDown)' },
  Throttling: { type: ErrorType.THROTTLED, describe: 'throttled' },
  ThrottlingException: { type: ErrorType.THROTTLED, describe: 'throttled' },
  RequestTimeout: { type: ErrorType.NETWORK_TIMEOUT, describe: 'request timed out' },
  RequestTimeTooSkewed: { type: ErrorType.CONFIGURATION_INVALID, describe: 'clock skew too large' },
  InternalError: { type: ErrorType.SOURCE_UNAVAILABLE, describe: 'S3 internal error' },
  ServiceUnavailable: { type: ErrorType.THROTTLED, describe: 'service unavailable' },
  TimeoutError: { type: ErrorType.NETWORK_TIMEOUT, describe: 'request timed out' },
  AbortError: { type: ErrorType.CANCELLED, describe: 'request aborted' },
};

/** PostgreSQL SQLSTATE codes; a two-character key matches a whole class. */
export const POSTGRES_SQLSTATE_TABLE: Readonly<Record<string, Mapping>> = {
  '28P01': { type: ErrorType.RIGHTS_AUTHENTICATION_FAILED, describe: 'password authentication failed' },
  '28000': { type: ErrorType.RIGHTS_AUTHENTICATION_FAILED, describe: 'invalid authorization specification' },
  '3D000': { type: ErrorType.CONFIGURATION_INVALID, describe: 'database does not exist' },
  '3F000': { type: ErrorType.CONFIGURATION_INVALID, describe: 'schema does not exist' },
  '42P01': { type: ErrorType.OBJECT_NOT_FOUND, describe: 'table does not exist' },
  '42501': { type: ErrorType.RIGHTS_ACCESS_DENIED, describe: 'insufficient privilege' },
  '57014': { type: ErrorType.QUERY_TIMEOUT, describe: 'statement cancelled (timeout)' },
  '57P01': { type: ErrorType.NETWORK_CONNECTION_FAILED, describe: 'server shutting down' },
  '57P03': { type: ErrorType.SOURCE_UNAVAILABLE, describe: 'server not yet accepting connections' },
  '53300': { type: ErrorType.THROTTLED, describe: 'too many connections' },
  '25006': { type: ErrorType.INTERNAL, describe: 'write attempted in a read-only transaction' },
  '08': { type: ErrorType.NETWORK_CONNECTION_FAILED, describe: 'connection exception' },
  '53': { type: ErrorType.SOURCE_UNAVAILABLE, describe: 'insufficient resources' },
};

/** mysql2 error codes (`err.code`). */
export const MYSQL_ERROR_TABLE: Readonly<Record<string, Mapping>> = {
  ER_ACCESS_DENIED_ERROR: {
    type: ErrorType.RIGHTS_AUTHENTICATION_FAILED,
    describe: 'access denied for user',
  },
  ER_DBACCESS_DENIED_ERROR: { type: ErrorType.RIGHTS_ACCESS_DENIED, describe: 'access denied to database' },
  ER_TABLEACCESS_DENIED_ERROR: { type: ErrorType.RIGHTS_ACCESS_DENIED, describe: 'SELECT denied on table' },
  ER_COLUMNACCESS_DENIED_ERROR: { type: ErrorType.RIGHTS_ACCESS_DENIED, describe: 'access denied on column' },
  ER_SPECIFIC_ACCESS_DENIED_ERROR: { type: ErrorType.RIGHTS_ACCESS_DENIED, describe: 'privilege missing' },
  ER_BAD_DB_ERROR: { type: ErrorType.CONFIGURATION_INVALID, describe: 'unknown database' },
  ER_NO_SUCH_TABLE: { type: ErrorType.OBJECT_NOT_FOUND, describe: 'table does not exist' },
  ER_CON_COUNT_ERROR: { type: ErrorType.THROTTLED, describe: 'too many connections' },
  ER_QUERY_TIMEOUT: { type: ErrorType.QUERY_TIMEOUT, describe: 'query timed out' },
  ER_STATEMENT_TIMEOUT: { type: ErrorType.QUERY_TIMEOUT, describe: 'statement timed out' },
  PROTOCOL_CONNECTION_LOST: { type: ErrorType.NETWORK_CONNECTION_FAILED, describe: 'connection lost' },
  PROTOCOL_SEQUENCE_TIMEOUT: { type: ErrorType.NETWORK_TIMEOUT, describe: 'protocol timeout' },
  ER_SERVER_SHUTDOWN: { type: ErrorType.NETWORK_CONNECTION_FAILED, describe: 'server shutting down' },
  ER_CANT_CONNECT: { type: ErrorType.NETWORK_CONNECTION_FAILED, describe: 'cannot connect' },
};

type RawError = Error & {
  code?: unknown;
  errno?: unknown;
  name: string;
  Code?: unknown;
  $metadata?: { httpStatusCode?: number };
  $fault?: string;
};

export type ErrorSource = 'node' | 's3' | 'postgres' | 'mysql';

export class ErrorHandler {
  /**
   * Wraps any thrown value in a PlatformError. `context` holds safe fields only (host, objectId…);
   * the raw message is kept, since library messages name hosts and tables, not passwords.
   */
  wrap(error: unknown, context: ErrorContext = {}, what = 'operation'): PlatformError {
    if (error instanceof PlatformError) return error;
    const mapping = this.classify(error);
    const raw = error instanceof Error ? error.message : String(error);
    const message = mapping ? `${what} failed: ${mapping.describe} (${raw})` : `${what} failed: ${raw}`;
    return platformError(mapping?.type ?? ErrorType.INTERNAL, message, context, error);
  }

  /** The table entry for a raw error, or undefined when no table knows it. */
  classify(error: unknown): Mapping | undefined {
    if (typeof error !== 'object' || error === null) return undefined;
    const err = error as RawError;
    const code = typeof err.code === 'string' ? err.code : undefined;

    if (
      code &&
      /^[0-9A-Z]{5}$/.test(code) &&
      (POSTGRES_SQLSTATE_TABLE[code] || POSTGRES_SQLSTATE_TABLE[code.slice(0, 2)])
    ) {
      return POSTGRES_SQLSTATE_TABLE[code] ?? POSTGRES_SQLSTATE_TABLE[code.slice(0, 2)];
    }
    if (code && MYSQL_ERROR_TABLE[code]) return MYSQL_ERROR_TABLE[code];
    if (code && NODE_ERRNO_TABLE[code]) return NODE_ERRNO_TABLE[code];

    const s3Name = typeof err.Code === 'string' ? err.Code : err.name;
    if (s3Name && S3_ERROR_TABLE[s3Name]) return S3_ERROR_TABLE[s3Name];
    if (err.$metadata?.httpStatusCode !== undefined)
      return this.classifyHttpStatus(err.$metadata.httpStatusCode);
    // AWS SDK wraps socket errors; the errno sits on the cause.
    if (err.cause && err.cause !== error) return this.classify(err.cause);
    // An error from another realm (e.g. a Node socket error inside jest's sandbox) reaches us
    // stringified by the AWS SDK ("AWS SDK error wrapper for Error: connect ECONNREFUSED …").
    const errno = /\b(E[A-Z]{3,})\b/.exec(err.message ?? '')?.[1];
    if (errno && NODE_ERRNO_TABLE[errno]) return NODE_ERRNO_TABLE[errno];
    return undefined;
  }

  private classifyHttpStatus(status: number): Mapping | undefined {
    if (status === 401) return { type: ErrorType.RIGHTS_AUTHENTICATION_FAILED, describe: 'HTTP 401' };
    if (status === 403) return { type: ErrorType.RIGHTS_ACCESS_DENIED, describe: 'HTTP 403' };
    if (status === 404) return { type: ErrorType.OBJECT_NOT_FOUND, describe: 'HTTP 404' };
    if (status === 429 || status === 503) return { type: ErrorType.THROTTLED, describe: `HTTP ${status}` };
    if (status >= 500) return { type: ErrorType.SOURCE_UNAVAILABLE, describe: `HTTP ${status}` };
    return undefined;
  }
}
