/** Exit codes of the `assay` CLI (documented in docs/cli.md and in `assay --help`). */
export const EXIT = {
  /** Success. */
  OK: 0,
  /** The scan failed, or `--fail-on-findings` and the scan found sensitive data. */
  FINDINGS_OR_FAILED: 1,
  /** Usage or configuration error: bad flag, bad source URI, invalid config file. */
  USAGE: 2,
  /** Cannot reach Temporal or the results store (address, network, credentials). */
  UNREACHABLE: 3,
  /** The scan id does not exist. */
  NOT_FOUND: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = `Exit codes:
  0  success
  1  the scan failed, or --fail-on-findings and sensitive data was found
  2  usage or configuration error (bad flag, source URI or config file)
  3  cannot reach Temporal or the results store
  4  scan not found`;

/** An error the user can cause and fix: printed as one line on stderr, with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CliError';
  }
}

export const usageError = (message: string, cause?: unknown) => new CliError(message, EXIT.USAGE, { cause });
export const unreachableError = (message: string, cause?: unknown) =>
  new CliError(message, EXIT.UNREACHABLE, { cause });
export const notFoundError = (message: string, cause?: unknown) =>
  new CliError(message, EXIT.NOT_FOUND, { cause });
