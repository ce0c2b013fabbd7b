/**
 * Error types Temporal must not retry. A literal copy because workflow code may not import runtime
 * modules; test/scan/retry-policy.test.ts asserts it equals NON_RETRYABLE_ERROR_TYPES (src/core/errors.ts),
 * the one table every retry decision derives from.
 */
export const SCAN_NON_RETRYABLE_ERROR_TYPES: readonly string[] = [
  'RIGHTS_AUTHENTICATION_FAILED',
  'RIGHTS_ACCESS_DENIED',
  'CONFIGURATION_INVALID',
  'OBJECT_NOT_FOUND',
  'CONTENT_UNSUPPORTED',
  'CONTENT_CORRUPT',
  'CONTENT_TOO_LARGE',
  'CANCELLED',
];
