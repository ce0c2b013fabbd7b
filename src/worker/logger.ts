/** Routes the Temporal SDK's log lines (worker, activities, workflows' `log`) into the SystemLogger. */
import type { LogLevel as TemporalLogLevel, LogMetadata, Logger } from '@temporalio/common';
import type { LogLevel, SystemLogger } from '../core/logger';

const LEVELS: Record<TemporalLogLevel, LogLevel> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

export class TemporalLoggerAdapter implements Logger {
  private readonly logger: SystemLogger;

  constructor(logger: SystemLogger) {
    this.logger = logger.child({ component: 'temporal' });
  }

  log(level: TemporalLogLevel, message: string, meta: LogMetadata = {}): void {
    this.logger.log(LEVELS[level] ?? 'info', message, meta);
  }
  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}
