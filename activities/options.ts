/** Validation of scan options (bounds), with messages naming the bad field. */
import { z } from 'zod';
import { ConfigurationError } from '../src/core/errors';
import { LIKELIHOODS } from '../src/classification/types';
import type { ScanRunOptions } from '../workflows/types';

const int = (field: string, min: number, max: number) =>
  z
    .number({ error: `${field} must be a number` })
    .int({ error: `${field} must be an integer` })
    .min(min, { error: `${field} must be at least ${min}` })
    .max(max, { error: `${field} must be at most ${max}` })
    .optional();

const samplingSchema = z.discriminatedUnion(
  'mode',
  [
    z.strictObject({ mode: z.literal('full') }),
    z.strictObject({ mode: z.literal('limit'), rows: z.number().int().min(1).max(100_000_000) }),
    z.strictObject({
      mode: z.literal('percent'),
      percent: z.number().gt(0).max(100),
      seed: z.number().int().optional(),
    }),
  ],
  { error: 'sampling must be {mode:"full"}, {mode:"limit",rows} or {mode:"percent",percent}' },
);

export const scanOptionsSchema = z.strictObject({
  batchSize: int('batchSize', 1, 10_000),
  maxConcurrentBatches: int('maxConcurrentBatches', 1, 64),
  sampling: samplingSchema.optional(),
  detectors: z.array(z.string().min(1)).optional(),
  minLikelihood: z
    .enum(LIKELIHOODS, { error: `minLikelihood must be one of ${LIKELIHOODS.join(', ')}` })
    .optional(),
  incremental: z.boolean({ error: 'incremental must be true or false' }).optional(),
  maxObjectBytes: int('maxObjectBytes', 1, Number.MAX_SAFE_INTEGER),
  sliceBatches: int('sliceBatches', 1, 10_000),
  sliceSeconds: int('sliceSeconds', 1, 3600),
  heartbeatTimeoutSeconds: int('heartbeatTimeoutSeconds', 2, 3600),
  maxBatchesPerRun: int('maxBatchesPerRun', 1, 1_000_000),
  contentConcurrency: int('contentConcurrency', 1, 64),
});

/** Defaults applied where the workflow input leaves an option out. */
export const SCAN_DEFAULTS = {
  batchSize: 1000,
  maxConcurrentBatches: 4,
  sliceBatches: 20,
  sliceSeconds: 10,
  maxObjectBytes: 100 * 1024 * 1024,
} as const;

/** Throws CONFIGURATION_INVALID naming every bad option (`options.batchSize: …`). */
export function validateScanOptions(options: unknown): ScanRunOptions {
  const parsed = scanOptionsSchema.safeParse(options ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `options.${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new ConfigurationError(`invalid scan options: ${problems.join('; ')}`, {
      field: problems[0]?.split(':')[0],
    });
  }
  return parsed.data as ScanRunOptions;
}
