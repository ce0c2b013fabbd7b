/**
 * Platform error types (the guide's core.errors). Every failure carries a stable string code, a
 * retry decision and safe context fields; never credentials.
 */

export enum ErrorType {
  NETWORK_CONNECTION_FAILED = 'NETWORK_CONNECTION_FAILED',
  NETWORK_TIMEOUT = 'NETWORK_TIMEOUT',
  THROTTLED = 'THROTTLED',
  SOURCE_UNAVAILABLE = 'SOURCE_UNAVAILABLE',
  RIGHTS_AUTHENTICATION_FAILED = 'RIGHTS_AUTHENTICATION_FAILED',
  RIGHTS_ACCESS_DENIED = 'RIGHTS_ACCESS_DENIED',
  CONFIGURATION_INVALID = 'CONFIGURATION_INVALID',
  OBJECT_NOT_FOUND = 'OBJECT_NOT_FOUND',
  CONTENT_UNSUPPORTED = 'CONTENT_UNSUPPORTED',
  CONTENT_CORRUPT = 'CONTENT_CORRUPT',
  CONTENT_TOO_LARGE = 'CONTENT_TOO_LARGE',
  QUERY_TIMEOUT = 'QUERY_TIMEOUT',
  CANCELLED = 'CANCELLED',
  INTERNAL = 'INTERNAL',
}

/** How far a failure reaches: one object, or the whole source (which ends the scan). */
export type ErrorScope = 'object' | 'source';

interface ErrorTypeRule {
  retryable: boolean;
  scope: ErrorScope;
  family: ErrorFamily;
}

export type ErrorFamily = 'network' | 'rights' | 'configuration' | 'object' | 'content' | 'internal';

/** The one table every retry decision derives from (Temporal retry policies included). */
export const ERROR_TYPE_RULES: Readonly<Record<ErrorType, ErrorTypeRule>> = {
  [ErrorType.NETWORK_CONNECTION_FAILED]: { retryable: true, scope: 'source', family: 'network' },
  [ErrorType.NETWORK_TIMEOUT]: { retryable: true, scope: 'source', family: 'network' },
  [ErrorType.THROTTLED]: { retryable: true, scope: 'source', family: 'network' },
  [ErrorType.SOURCE_UNAVAILABLE]: { retryable: true, scope: 'source', family: 'network' },
  [ErrorType.QUERY_TIMEOUT]: { retryable: true, scope: 'object', family: 'network' },
  [ErrorType.RIGHTS_AUTHENTICATION_FAILED]: { retryable: false, scope: 'source', family: 'rights' },
  [ErrorType.RIGHTS_ACCESS_DENIED]: { retryable: false, scope: 'object', family: 'rights' },
  [ErrorType.CONFIGURATION_INVALID]: {
    retryable: false,
    scope: 'source',
    family: 'configuration',
  },
  [ErrorType.OBJECT_NOT_FOUND]: { retryable: false, scope: 'object', family: 'object' },
  [ErrorType.CONTENT_UNSUPPORTED]: { retryable: false, scope: 'object', family: 'content' },
  [ErrorType.CONTENT_CORRUPT]: { retryable: false, scope: 'object', family: 'content' },
  [ErrorType.CONTENT_TOO_LARGE]: { retryable: false, scope: 'object', family: 'content' },
  [ErrorType.CANCELLED]: { retryable: false, scope: 'source', family: 'internal' },
  [ErrorType.INTERNAL]: { retryable: true, scope: 'object', family: 'internal' },
};

/** Error types Temporal must not retry: pass to `RetryPolicy.nonRetryableErrorTypes`. */
export const NON_RETRYABLE_ERROR_TYPES: readonly string[] = Object.values(ErrorType).filter(
  (type) => !ERROR_TYPE_RULES[type].retryable,
);

export function isRetryableErrorType(type: string): boolean {
  return (ERROR_TYPE_RULES as Record<string, ErrorTypeRule | undefined>)[type]?.retryable ?? true;
}

/** Context values that are safe to log and to put in failure details. */
export type ErrorContext = Record<string, string | number | boolean | undefined>;

const PLATFORM_ERROR_BRAND = Symbol.for('assay.PlatformError');

export class PlatformError extends Error {
  readonly type: ErrorType;
  readonly context: ErrorContext;

  constructor(
    message: string,
    type: ErrorType = ErrorType.INTERNAL,
    context: ErrorContext = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
    this.type = type;
    this.context = context;
    Object.defineProperty(this, PLATFORM_ERROR_BRAND, { value: true });
  }

  get retryable(): boolean {
    return ERROR_TYPE_RULES[this.type].retryable;
  }

  get scope(): ErrorScope {
    return ERROR_TYPE_RULES[this.type].scope;
  }

  /** Brand check, so `instanceof` holds across module realms (jest, worker threads). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null) return false;
    if (!(value as Record<symbol, unknown>)[PLATFORM_ERROR_BRAND]) return false;
    // Subclasses: match by name along the prototype chain, since the constructors may differ per realm.
    if (this.name === 'PlatformError') return true;
    for (let proto = Object.getPrototypeOf(value); proto; proto = Object.getPrototypeOf(proto)) {
      if (proto.constructor?.name === this.name) return true;
    }
    return false;
  }

  toJSON(): { type: ErrorType; message: string; context: ErrorContext } {
    return { type: this.type, message: this.message, context: this.context };
  }
}

export class NetworkError extends PlatformError {}
export class RightsError extends PlatformError {}
export class ConfigurationError extends PlatformError {
  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, ErrorType.CONFIGURATION_INVALID, context, options);
  }
}
export class ObjectNotFoundError extends PlatformError {
  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, ErrorType.OBJECT_NOT_FOUND, context, options);
  }
}
export class ContentError extends PlatformError {}
export class InternalError extends PlatformError {
  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, ErrorType.INTERNAL, context, options);
  }
}

const FAMILY_CLASSES: Record<
  ErrorFamily,
  new (m: string, t: ErrorType, c: ErrorContext, o?: { cause?: unknown }) => PlatformError
> = {
  network: NetworkError,
  rights: RightsError,
  configuration: PlatformError,
  object: PlatformError,
  content: ContentError,
  internal: PlatformError,
};

/** Builds the right subclass for a type: `platformError(ErrorType.THROTTLED, 'slow down')`. */
export function platformError(
  type: ErrorType,
  message: string,
  context: ErrorContext = {},
  cause?: unknown,
): PlatformError {
  switch (type) {
    case ErrorType.CONFIGURATION_INVALID:
      return new ConfigurationError(message, context, { cause });
    case ErrorType.OBJECT_NOT_FOUND:
      return new ObjectNotFoundError(message, context, { cause });
    case ErrorType.INTERNAL:
      return new InternalError(message, context, { cause });
    default:
      return new FAMILY_CLASSES[ERROR_TYPE_RULES[type].family](message, type, context, { cause });
  }
}
