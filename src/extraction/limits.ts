import { ConfigurationError } from '../core/errors';

/** Resource limits for one extraction (one object). Every limit yields a CONTENT_TOO_LARGE component when hit. */
export interface ExtractionLimits {
  /** Deepest archive nesting followed (a zip in a tar.gz is depth 2; gzip counts as a level). Default 5. */
  maxArchiveDepth?: number;
  /** Archive entries processed per object, counted over all nested archives. Default 10,000. */
  maxArchiveEntries?: number;
  /** Bytes decompressed per object, summed over all archive entries and gzip layers. Default 1 GiB. */
  maxTotalDecompressedBytes?: number;
  /**
   * Largest decompressed/compressed ratio accepted, per entry and for the whole object (zip-bomb guard).
   * Only applied once the decompressed size passes `compressionRatioMinBytes`. Default 100.
   */
  maxCompressionRatio?: number;
  /** Decompressed size under which the ratio guard does not apply (small files compress very well). Default 1 MiB. */
  compressionRatioMinBytes?: number;
  /** Largest object (its own bytes, e.g. the archive) extracted. Default 100 MiB. */
  maxObjectBytes?: number;
  /**
   * Largest single component (an archive entry, an attachment, a gzip payload) in source bytes. A component
   * whose declared size is larger is refused; one discovered to be larger while streaming is truncated there.
   * Formats read whole into memory (PDF, EML) are bounded by it too. Default 100 MiB.
   */
  maxComponentBytes?: number;
  /** Characters of decoded text per `kind:'text'` component chunk. Default 65,536. */
  textChunkChars?: number;
  /** Rows per `kind:'table'` component batch. Default 1,000. */
  tableBatchRows?: number;
}

export type ResolvedExtractionLimits = Required<ExtractionLimits>;

export const DEFAULT_EXTRACTION_LIMITS: Readonly<ResolvedExtractionLimits> = {
  maxArchiveDepth: 5,
  maxArchiveEntries: 10_000,
  maxTotalDecompressedBytes: 1024 * 1024 * 1024,
  maxCompressionRatio: 100,
  compressionRatioMinBytes: 1024 * 1024,
  maxObjectBytes: 100 * 1024 * 1024,
  maxComponentBytes: 100 * 1024 * 1024,
  textChunkChars: 64 * 1024,
  tableBatchRows: 1000,
};

export function resolveLimits(limits: ExtractionLimits = {}): ResolvedExtractionLimits {
  const resolved = { ...DEFAULT_EXTRACTION_LIMITS };
  for (const [key, value] of Object.entries(limits) as [keyof ExtractionLimits, number | undefined][]) {
    if (value !== undefined) {
      if (!Number.isFinite(value) || value <= 0)
        throw new ConfigurationError(`extraction limit ${key} must be a number > 0`, { limit: key });
      resolved[key] = value;
    }
  }
  return resolved;
}
