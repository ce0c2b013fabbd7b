/** Helpers every connector shares: secrets by name, bounded retry, bounded concurrency. */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ConfigurationError, ErrorType, PlatformError } from '../core/errors';
import type { ContentComponent } from '../core/models';

/** A secret referenced by name: an environment variable or a file (never the value itself). */
export const secretRefSchema = {
  passwordEnv: z.string().min(1).optional().describe('Name of the environment variable holding the password'),
  passwordFile: z.string().min(1).optional().describe('Path of a file holding the password'),
};

/** Reads a secret from `env[envName]` or `file`; undefined when neither is configured. */
export async function resolveSecret(
  refs: { envName?: string; file?: string; field: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  if (refs.envName) {
    const value = env[refs.envName];
    if (value === undefined) {
      throw new ConfigurationError(`${refs.field}: environment variable ${refs.envName} is not set`, {
        field: refs.field,
      });
    }
    return value;
  }
  if (refs.file) {
    try {
      return (await readFile(refs.file, 'utf8')).replace(/\r?\n$/, '');
    } catch (err) {
      throw new ConfigurationError(
        `${refs.field}: cannot read secret file ${refs.file}`,
        { field: refs.field },
        { cause: err },
      );
    }
  }
  return undefined;
}

export interface RetryOptions {
  /** Attempts in all, the first included. Default 4. */
  attempts?: number;
  /** First back-off delay in ms, doubled each time with ±25% jitter. Default 200. */
  initialDelayMs?: number;
  /** Back-off ceiling in ms. Default 5000. */
  maxDelayMs?: number;
  abortSignal?: AbortSignal;
}

/**
 * Runs `fn`, retrying only PlatformErrors whose type is retryable (network, throttling). Anything
 * else is thrown at once; the caller wraps raw errors before they get here.
 */
export async function retryWithBackoff<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 4;
  let delay = options.initialDelayMs ?? 200;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const retryable = err instanceof PlatformError && err.retryable && err.type !== ErrorType.INTERNAL;
      if (!retryable || attempt >= attempts || options.abortSignal?.aborted) throw err;
      const jittered = delay * (0.75 + Math.random() * 0.5);
      await new Promise((resolve) => setTimeout(resolve, jittered));
      delay = Math.min(delay * 2, options.maxDelayMs ?? 5000);
    }
  }
}

/** Limits how many async operations run at once (e.g. requests against one source). */
export class ConcurrencyLimiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit: number) {
    if (limit < 1) throw new RangeError('limit must be at least 1');
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/** Maps `items` through `fn` with at most `limit` in flight, keeping input order. */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index], index);
    }
  });
  await Promise.all(workers);
  return results;
}

/** The part of an objectId after `${datasourceId}:`. */
export function objectPathOf(objectId: string, datasourceId: string): string {
  const prefix = `${datasourceId}:`;
  if (!objectId.startsWith(prefix)) {
    throw new PlatformError(
      `object ${objectId} does not belong to datasource ${datasourceId}`,
      ErrorType.CONFIGURATION_INVALID,
      {
        objectId,
      },
    );
  }
  return objectId.slice(prefix.length);
}

/** Orders strings by Unicode code point (= UTF-8 byte order, S3's key order), not by UTF-16 unit. */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

// Surrogate units (astral code points) rank above U+E000..U+FFFF, as their code points do.
function codePointRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  return unit >= 0xe000 ? unit - 0x800 : unit;
}

/** True for failures of one object (not found, denied, too large…) that must not fail a whole batch. */
export function isObjectScoped(error: PlatformError): boolean {
  return error.scope === 'object' && error.type !== ErrorType.INTERNAL;
}

/** The `kind: 'error'` component that reports one object's failure and lets the loop go on. */
export function errorComponent(
  objectId: string,
  componentPath: string,
  error: PlatformError,
): ContentComponent {
  return { objectId, componentPath, kind: 'error', error: { type: error.type, message: error.message } };
}

/** Rejects when `signal` is aborted, as a CANCELLED platform error. */
export function throwIfAborted(signal: AbortSignal | undefined, context: Record<string, string> = {}): void {
  if (signal?.aborted) throw new PlatformError('operation cancelled', ErrorType.CANCELLED, context);
}
