import { AsyncLocalStorage } from 'node:async_hooks';
import pino, { type DestinationStream, type Logger as PinoLogger } from 'pino';

/** Ambient context added to every line logged inside `runWithLogContext`. */
export interface LogContext {
  traceId?: string;
  taskId?: string;
  scanId?: string;
  workflowId?: string;
  activityId?: string;
  datasourceId?: string;
  [key: string]: string | number | undefined;
}

export type LogFields = Record<string, unknown>;
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

const contextStorage = new AsyncLocalStorage<LogContext>();

/** Runs `fn` with `context` merged onto the current ambient context (for its whole async call tree). */
export function runWithLogContext<T>(context: LogContext, fn: () => T): T {
  return contextStorage.run({ ...contextStorage.getStore(), ...context }, fn);
}

export function currentLogContext(): LogContext {
  return contextStorage.getStore() ?? {};
}

/** Field names whose values never reach a log line. */
export const REDACTED_PATHS = [
  'password',
  'secret',
  'token',
  'accessKeyId',
  'secretAccessKey',
  'sessionToken',
  'authorization',
  'apiKey',
  'credentials',
  'connectionString',
  'value',
  // The fingerprint key, as content threads receive it.
  'keyHex',
  '*.keyHex',
  '*.*.keyHex',
  '*.password',
  '*.secret',
  '*.token',
  '*.secretAccessKey',
  '*.sessionToken',
  '*.authorization',
  '*.apiKey',
  '*.credentials',
  '*.connectionString',
];

export interface SystemLoggerOptions {
  /** Minimum level. Default: `LOG_LEVEL` env or 'info'. */
  level?: LogLevel;
  /** Where lines go. Default: stderr, so command output on stdout stays clean. */
  destination?: DestinationStream;
  /** Fixed fields on every line (e.g. { component: 'worker' }). */
  base?: LogFields;
}

/**
 * The guide's SystemLogger: `logger.info(message, fields)`, JSON lines via pino, ambient context
 * (traceId, taskId, scanId, workflowId, activityId) injected from AsyncLocalStorage.
 */
export class SystemLogger {
  readonly pino: PinoLogger;

  constructor(options: SystemLoggerOptions | PinoLogger = {}) {
    if (isPino(options)) {
      this.pino = options;
      return;
    }
    this.pino = pino(
      {
        level: options.level ?? (process.env.LOG_LEVEL as LogLevel | undefined) ?? 'info',
        base: { service: 'assay', ...options.base },
        redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
        mixin: () => currentLogContext(),
        timestamp: pino.stdTimeFunctions.isoTime,
      },
      options.destination ?? pino.destination({ fd: 2, sync: false }),
    );
  }

  child(fields: LogFields): SystemLogger {
    return new SystemLogger(this.pino.child(fields));
  }

  trace(message: string, fields: LogFields = {}): void {
    this.pino.trace(fields, message);
  }
  debug(message: string, fields: LogFields = {}): void {
    this.pino.debug(fields, message);
  }
  info(message: string, fields: LogFields = {}): void {
    this.pino.info(fields, message);
  }
  warn(message: string, fields: LogFields = {}): void {
    this.pino.warn(fields, message);
  }
  error(message: string, fields: LogFields = {}): void {
    this.pino.error(fields, message);
  }
  log(level: LogLevel, message: string, fields: LogFields = {}): void {
    this.pino[level](fields, message);
  }
  flush(): void {
    this.pino.flush();
  }
}

function isPino(value: unknown): value is PinoLogger {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as PinoLogger).child === 'function' &&
    'levels' in value
  );
}
