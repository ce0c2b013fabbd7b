import { ApplicationFailure } from '@temporalio/common';
import { ErrorType, NON_RETRYABLE_ERROR_TYPES, PlatformError } from './errors';
import { ErrorHandler } from './error-handler';

export { NON_RETRYABLE_ERROR_TYPES };

const defaultHandler = new ErrorHandler();

/**
 * Maps any error to an ApplicationFailure whose `type` is the platform code and whose retry
 * decision comes from ERROR_TYPE_RULES. Details carry only the error's safe context fields.
 */
export function toApplicationFailure(
  error: unknown,
  handler: ErrorHandler = defaultHandler,
): ApplicationFailure {
  if (error instanceof ApplicationFailure) return error;
  const platform = error instanceof PlatformError ? error : handler.wrap(error);
  return ApplicationFailure.create({
    message: platform.message,
    type: platform.type,
    nonRetryable: !platform.retryable,
    details: [{ type: platform.type, context: platform.context }],
  });
}

export function isNonRetryable(type: string | undefined | null): boolean {
  return type !== undefined && type !== null && NON_RETRYABLE_ERROR_TYPES.includes(type as ErrorType);
}
