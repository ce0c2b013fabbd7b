/** Maps whatever went wrong to one line for the user and an exit code. */
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { ErrorType, PlatformError } from '../core/errors';
import { CliError, EXIT, type ExitCode } from './exit-codes';

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ECONNRESET',
]);
/** PostgreSQL SQLSTATEs the user fixes in the store URL: bad password, unknown role/database. */
const PG_CONNECT_CODES = new Set(['28P01', '28000', '3D000']);

function rootCause(err: unknown): unknown {
  let current = err;
  for (let i = 0; i < 8 && current instanceof Error && current.cause; i++) current = current.cause;
  return current;
}

function firstLine(text: string): string {
  return text.split('\n')[0].trim();
}

export function toCliError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof WorkflowNotFoundError)
    return new CliError(`scan not found: ${firstLine(err.message)}`, EXIT.NOT_FOUND, { cause: err });
  if (err instanceof WorkflowExecutionAlreadyStartedError) {
    return new CliError(
      `a scan with id "${err.workflowId}" already exists: choose another --id`,
      EXIT.USAGE,
      { cause: err },
    );
  }
  if (err instanceof PlatformError) {
    const code: ExitCode =
      err.type === ErrorType.CONFIGURATION_INVALID
        ? EXIT.USAGE
        : err.type === ErrorType.OBJECT_NOT_FOUND
          ? EXIT.NOT_FOUND
          : ['network', 'rights'].includes(familyOf(err.type))
            ? EXIT.UNREACHABLE
            : EXIT.FINDINGS_OR_FAILED;
    return new CliError(`${err.type}: ${firstLine(err.message)}`, code, { cause: err });
  }
  const cause = rootCause(err) as { code?: string; message?: string };
  if (
    cause &&
    typeof cause.code === 'string' &&
    (UNREACHABLE_CODES.has(cause.code) || PG_CONNECT_CODES.has(cause.code))
  ) {
    return new CliError(firstLine(String(cause.message ?? cause.code)), EXIT.UNREACHABLE, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new CliError(
    `unexpected error: ${firstLine(message)} (run with --verbose for details)`,
    EXIT.FINDINGS_OR_FAILED,
    {
      cause: err,
    },
  );
}

function familyOf(type: ErrorType): string {
  switch (type) {
    case ErrorType.NETWORK_CONNECTION_FAILED:
    case ErrorType.NETWORK_TIMEOUT:
    case ErrorType.SOURCE_UNAVAILABLE:
    case ErrorType.THROTTLED:
      return 'network';
    case ErrorType.RIGHTS_AUTHENTICATION_FAILED:
      return 'rights';
    default:
      return 'other';
  }
}

/** The full chain, for `--verbose`. */
export function describeChain(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let i = 0; i < 8 && current; i++) {
    parts.push(current instanceof Error ? (current.stack ?? current.message) : String(current));
    current = current instanceof Error ? current.cause : undefined;
    if (current) parts.push('caused by:');
  }
  return parts.join('\n');
}
