/** Content extraction: files and streams → ContentComponents (text chunks, table batches, error components). */
export { ContentExtractor, type ExtractOptions } from './extractor';
export {
  DEFAULT_EXTRACTION_LIMITS,
  resolveLimits,
  type ExtractionLimits,
  type ResolvedExtractionLimits,
} from './limits';
export { detectFormat, type Detection, type Format } from './sniff';
